"""``/v1/workers``: the Celery worker registry, for admins (what each worker consumes and can run,
whether it is alive and which jobs it runs now)."""

from __future__ import annotations

from typing import Any

from rest_framework import mixins

from config.api.filterspec import FilterFields
from config.api.viewsets import ResourceViewSet
from runners.api.serializers import WorkerSerializer
from runners.holdings import holdings
from runners.models import Worker
from runners.selectors import worker_list

WORKER_FILTER_FIELDS = FilterFields(
    Worker,
    [
        "pk",
        "name",
        "concurrency",
        "cpu_count",
        "memory_bytes",
        "pid",
        "version",
        "started_at",
        "last_seen",
        "stopped_at",
    ],
)


class WorkerViewSet(mixins.RetrieveModelMixin, ResourceViewSet):
    """Celery workers as they last reported themselves (on start and with every heartbeat): the queues
    they consume, the executor classes they can import, their CPUs, memory and GPUs, whether they are
    alive (heard from within WORKER_STALE_SECONDS and not stopped) and the pks of the jobs they run
    now. For admins only."""

    serializer_class = WorkerSerializer
    filter_fields = WORKER_FILTER_FIELDS
    query_filters = {"name": "name"}
    admin_actions = frozenset({"list", "retrieve", "filter_list"})

    def get_queryset(self):
        return worker_list()

    def get_serializer(self, *args: Any, **kwargs: Any):
        # Whatever is serialised gets its current jobs first: one query for a whole page.
        if args and args[0] is not None:
            workers = holdings().workers_with_current_jobs(args[0] if kwargs.get("many") else [args[0]])
            args = (workers if kwargs.get("many") else workers[0], *args[1:])
        return super().get_serializer(*args, **kwargs)
