"""Reading the registry for people (the API and the admin): workers and nodes with whether they are
alive and the jobs they hold now, in a constant number of queries for a list of any length."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import BooleanField, Case, Prefetch, Q, QuerySet, Value, When
from django.utils import timezone

from jobtemplates.models import Job, JobStatus
from runners.models import Node, Worker

# A node holds a job from acquiring it until it finishes (it may still be "created" while it starts).
NODE_HOLDING_STATUSES = (JobStatus.CREATED, JobStatus.RUNNING)


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


def worker_current_jobs(*, names: Iterable[str]) -> dict[str, list[int]]:
    """Worker name → the pks of the running jobs it runs (ascending), for the workers ``names`` (one
    query; a worker running nothing is absent)."""
    names = list(names)
    current: dict[str, list[int]] = {}
    if not names:
        return current
    rows = Job.objects.filter(status=JobStatus.RUNNING, worker__in=names).order_by("pk").values_list("worker", "pk")
    for name, pk in rows:
        current.setdefault(name, []).append(pk)
    return current


def workers_with_current_jobs(workers: Iterable[Worker]) -> list[Worker]:
    """``workers``, each given ``current_jobs`` (pks of its running jobs) in one query for them all."""
    workers = list(workers)
    current = worker_current_jobs(names=[worker.name for worker in workers])
    for worker in workers:
        worker.current_jobs = current.get(worker.name, [])
    return workers


def node_list() -> QuerySet[Node]:
    """Every node with its owner and hardware generation, annotated ``alive`` (seen within
    NODE_STALE_SECONDS) and given ``current_jobs``: the jobs it holds (created or running), pk order."""
    since = timezone.now() - timedelta(seconds=settings.NODE_STALE_SECONDS)
    holding = Job.objects.filter(status__in=NODE_HOLDING_STATUSES).only("pk", "node_id")
    return (
        Node.objects.select_related("owner", "hardware_generation")
        .annotate(alive=_alive(Q(last_seen__gte=since)))
        .prefetch_related(Prefetch("jobs", queryset=holding.order_by("pk"), to_attr="current_jobs"))
    )


def node_held_job_id(node: Node) -> int | None:
    """The job ``node`` holds now (created or running), read afresh: the lowest pk if, against the
    rules, it holds several."""
    held = Job.objects.filter(node=node, status__in=NODE_HOLDING_STATUSES).order_by("pk")
    return held.values_list("pk", flat=True).first()
