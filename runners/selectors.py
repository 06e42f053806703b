"""Reading the registry for people (the API and the admin): workers and nodes with whether they are
alive, in a constant number of queries for a list of any length. The registry knows nothing of jobs
(jobs point at the runner that holds them): what each runner holds is read by ``jobtemplates.selectors``."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import BooleanField, Case, Q, QuerySet, Value, When
from django.utils import timezone

from runners.models import Node, Worker


def _alive(condition: Q) -> Case:
    # Case rather than a bare Q: a NULL last_seen answers False, not NULL.
    return Case(When(condition, then=Value(True)), default=Value(False), output_field=BooleanField())


def worker_list() -> QuerySet[Worker]:
    """Every worker, each annotated ``alive``: seen within WORKER_STALE_SECONDS and not stopped (what
    ``runners.capabilities.live_workers`` counts)."""
    since = timezone.now() - timedelta(seconds=settings.WORKER_STALE_SECONDS)
    return Worker.objects.annotate(alive=_alive(Q(last_seen__gte=since, stopped_at__isnull=True)))


def worker_is_alive(worker: Worker, *, now: datetime | None = None) -> bool:
    """``worker.alive`` as ``worker_list`` annotates it; worked out here for a row loaded otherwise."""
    annotated = getattr(worker, "alive", None)
    if annotated is not None:
        return bool(annotated)
    since = (now or timezone.now()) - timedelta(seconds=settings.WORKER_STALE_SECONDS)
    return worker.stopped_at is None and worker.last_seen is not None and worker.last_seen >= since


def node_list() -> QuerySet[Node]:
    """Every node with its owner and hardware generation, annotated ``alive`` (seen within
    NODE_STALE_SECONDS). The jobs each holds are jobs' business: ``jobtemplates.selectors.nodes_with_jobs``."""
    since = timezone.now() - timedelta(seconds=settings.NODE_STALE_SECONDS)
    return Node.objects.select_related("owner", "hardware_generation").annotate(alive=_alive(Q(last_seen__gte=since)))
