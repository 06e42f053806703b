"""Writing the registry: workers report themselves; nodes register, update and are seen."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from runners.models import Node, Worker

WORKER_FIELDS = (
    "queues",
    "executor_modules",
    "executor_classes",
    "distributions",
    "cpu_count",
    "memory_bytes",
    "gpus",
    "concurrency",
    "pid",
    "version",
)


def worker_report(*, name: str, started: bool = False, **capabilities: Any) -> Worker:
    """Record a worker's capabilities and that it is alive now (``started``: it has just started)."""
    now = timezone.now()
    defaults: dict[str, Any] = {key: value for key, value in capabilities.items() if key in WORKER_FIELDS}
    defaults.update(last_seen=now, stopped_at=None)
    if started:
        defaults["started_at"] = now
    worker, _ = Worker.objects.update_or_create(name=name, defaults=defaults)
    return worker


def worker_beat(*, name: str) -> bool:
    """A heartbeat: only ``last_seen`` changes (one UPDATE). False if the worker never reported."""
    return bool(Worker.objects.filter(name=name).update(last_seen=timezone.now(), stopped_at=None))


def worker_stopped(*, name: str) -> None:
    Worker.objects.filter(name=name).update(stopped_at=timezone.now())


def node_touch(*, node: Node) -> bool:
    """Mark ``node`` seen now, at most every NODE_TOUCH_SECONDS (one conditional UPDATE); True when
    it wrote."""
    now = timezone.now()
    stale = now - timedelta(seconds=settings.NODE_TOUCH_SECONDS)
    touched = Node.objects.filter(Q(last_seen__isnull=True) | Q(last_seen__lt=stale), pk=node.pk).update(last_seen=now)
    if touched:
        node.last_seen = now
    return bool(touched)
