"""Representations of registry rows: Celery workers (``/v1/workers``, and the admin's columns)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from runners.models import Worker
from runners.selectors import worker_is_alive

_time = serializers.DateTimeField()


def _when(value) -> str | None:
    return _time.to_representation(value) if value else None


def worker_representation(worker: Worker, current_jobs: list[int]) -> dict[str, Any]:
    """A worker as it last reported itself, whether it is alive and ``current_jobs`` (the pks of the
    jobs it runs now, which the caller loads: ``runners.holdings``)."""
    return {
        "pk": worker.pk,
        "name": worker.name,
        "alive": worker_is_alive(worker),
        "current_jobs": list(current_jobs),
        "queues": worker.queues,
        "concurrency": worker.concurrency,
        "executor_modules": worker.executor_modules,
        "executor_classes": worker.executor_classes,
        "cpu_count": worker.cpu_count,
        "memory_bytes": worker.memory_bytes,
        "gpus": worker.gpus,
        "pid": worker.pid,
        "version": worker.version,
        "distributions": worker.distributions,
        "started_at": _when(worker.started_at),
        "last_seen": _when(worker.last_seen),
        "stopped_at": _when(worker.stopped_at),
    }


class WorkerSerializer(serializers.Serializer):
    """A Celery worker: what it consumes and can run, the machine it is on, whether it is alive and
    the jobs it runs now."""

    pk = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True, help_text="its Celery hostname (celery@host)")
    alive = serializers.BooleanField(read_only=True, help_text="heard from within WORKER_STALE_SECONDS and not stopped")
    current_jobs = serializers.ListField(
        child=serializers.IntegerField(), read_only=True, help_text="pks of the running jobs it runs"
    )
    queues = serializers.ListField(child=serializers.CharField(), read_only=True)
    concurrency = serializers.IntegerField(read_only=True, allow_null=True, help_text="how many jobs it runs at once")
    executor_modules = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text="module prefixes it may load executors from"
    )
    executor_classes = serializers.ListField(
        child=serializers.CharField(), read_only=True, help_text="executor classes it can import"
    )
    cpu_count = serializers.IntegerField(read_only=True, allow_null=True)
    memory_bytes = serializers.IntegerField(read_only=True, allow_null=True)
    gpus = serializers.ListField(
        child=serializers.DictField(), read_only=True, help_text="[{index, model, memory_bytes, compute, generation}]"
    )
    pid = serializers.IntegerField(read_only=True, allow_null=True)
    version = serializers.CharField(read_only=True, help_text="the service version it runs")
    distributions = serializers.DictField(
        child=serializers.CharField(), read_only=True, help_text="installed distribution → version"
    )
    started_at = serializers.DateTimeField(read_only=True, allow_null=True)
    last_seen = serializers.DateTimeField(read_only=True)
    stopped_at = serializers.DateTimeField(read_only=True, allow_null=True, help_text="set when it shut down cleanly")

    def to_representation(self, instance: Worker) -> dict[str, Any]:
        # current_jobs is given by holdings().workers_with_current_jobs (the viewset calls it).
        return worker_representation(instance, getattr(instance, "current_jobs", []))
