"""The registry: Celery workers (they report themselves) and UFDL job-launcher nodes (they register
through ``/v1/nodes``). Neither references jobs: a job points at the node that holds it, and a
worker's current jobs are those whose ``worker`` names it, so dependencies run one way
(``jobtemplates → runners``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Worker(models.Model):
    """A Celery worker as it last reported itself (on start and with every heartbeat)."""

    # Not a column: the pks of the jobs it runs, set by jobtemplates.selectors.workers_with_current_jobs.
    current_jobs: list[int]

    name = models.CharField(max_length=200, unique=True, help_text="the worker's Celery hostname (celery@host)")
    queues = models.JSONField(default=list, blank=True, help_text="the queues it consumes")
    executor_modules = models.JSONField(default=list, blank=True, help_text="module prefixes it may load from")
    executor_classes = models.JSONField(default=list, blank=True, help_text="executor classes it can import")
    distributions = models.JSONField(default=dict, blank=True, help_text="installed distribution → version")
    cpu_count = models.PositiveIntegerField(null=True, blank=True)
    memory_bytes = models.BigIntegerField(null=True, blank=True)
    gpus = models.JSONField(default=list, blank=True, help_text="[{index, model, memory_bytes, compute, generation}]")
    concurrency = models.PositiveIntegerField(null=True, blank=True)
    pid = models.PositiveIntegerField(null=True, blank=True)
    version = models.CharField(max_length=100, blank=True, help_text="the service version it runs")
    started_at = models.DateTimeField(null=True, blank=True)
    last_seen = models.DateTimeField(db_index=True)
    stopped_at = models.DateTimeField(null=True, blank=True, help_text="set when it shut down cleanly")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Node(models.Model):
    """A UFDL job-launcher node: a machine (and GPU index) that polls for jobs, acquires and runs them.

    A node belongs to the user who registered it; requests carry ``Node-Id`` to act as it, and only its
    owner may do so. ``ip`` is the address the node gives (its routing address), not the one we see.
    """

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="nodes")
    ip = models.CharField(max_length=255, help_text="the address the node registered with")
    index = models.PositiveIntegerField(default=0, help_text="the GPU index on that machine")
    driver_version = models.CharField(max_length=64, null=True, blank=True)  # noqa: DJ001 - null on the wire
    hardware_generation = models.ForeignKey(
        "contracts.Hardware", on_delete=models.SET_NULL, null=True, blank=True, related_name="nodes"
    )
    gpu_mem = models.BigIntegerField(null=True, blank=True, help_text="GPU memory, as the node reports it")
    cpu_mem = models.BigIntegerField(null=True, blank=True, help_text="CPU memory, as the node reports it")
    last_seen = models.DateTimeField(null=True, blank=True, db_index=True)
    creation_time = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        constraints = [models.UniqueConstraint(fields=["owner", "ip", "index"], name="node_unique_owner_ip_index")]
        permissions = [("act_as_node", "May register job-launcher nodes and run jobs as them")]

    def __str__(self) -> str:
        return f"node {self.pk} ({self.ip}/{self.index})"
