"""Admin for operators: the Celery workers as they report themselves and the UFDL job-launcher nodes,
whether each is alive and the jobs it holds now (each linking to its job's page).

Rows are written by the workers and nodes themselves, so the pages are read-only; a stale worker's row
may be deleted (a live one may not: it would only report itself again).
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from config.admin_base import ReadOnlyModelAdmin
from runners.holdings import holdings
from runners.models import Node, Worker
from runners.selectors import worker_is_alive, worker_list


def job_links(pks: list[int]) -> str:
    """Links to the admin pages of the jobs ``pks`` ("-" when there are none)."""
    if not pks:
        return "-"
    return format_html_join(
        mark_safe(", "),
        '<a href="{}">{}</a>',
        ((reverse("admin:jobtemplates_job_change", args=[pk]), pk) for pk in pks),
    )


class AliveFilter(admin.SimpleListFilter):
    """``?alive=yes`` or ``?alive=no`` (the ``alive`` annotation of the registry's selectors)."""

    title = "alive"
    parameter_name = "alive"

    def lookups(self, request, model_admin):
        return [("yes", "alive"), ("no", "gone")]

    def queryset(self, request, queryset):
        if self.value() in {"yes", "no"}:
            return queryset.filter(alive=self.value() == "yes")
        return queryset


@admin.register(Worker)
class WorkerAdmin(ReadOnlyModelAdmin):
    # Short headers: the eight columns fit a 1400 px window beside the filter.
    list_display = [
        "name",
        "alive",
        "last_seen",
        "queue_names",
        "pool",
        "cpus",
        "gpu_summary",
        "current_job_links",
    ]
    list_filter = [AliveFilter]
    search_fields = ["name", "queues", "executor_classes"]
    ordering = ["name"]
    fields = [
        "name",
        "alive",
        "current_job_links",
        "queues",
        "concurrency",
        "executor_modules",
        "executor_classes",
        "cpu_count",
        "memory_bytes",
        "gpus",
        "pid",
        "version",
        "started_at",
        "last_seen",
        "stopped_at",
        "distributions",
    ]
    readonly_fields = ["alive", "current_job_links"]  # not fields of the model

    def get_queryset(self, request: HttpRequest):
        return worker_list()

    def get_changelist_instance(self, request: HttpRequest):
        changelist = super().get_changelist_instance(request)
        # The page's rows (the queryset caches them for the template) get their jobs in one query.
        holdings().workers_with_current_jobs(changelist.result_list)
        return changelist

    @admin.display(boolean=True, description="alive", ordering="alive")
    def alive(self, worker: Worker) -> bool:
        return worker_is_alive(worker)

    @admin.display(description="pool", ordering="concurrency")
    def pool(self, worker: Worker) -> int | None:
        """How many jobs it runs at once (its pool's size)."""
        return worker.concurrency

    @admin.display(description="CPUs", ordering="cpu_count")
    def cpus(self, worker: Worker) -> int | None:
        return worker.cpu_count

    @admin.display(description="queues")
    def queue_names(self, worker: Worker) -> str:
        return ", ".join(worker.queues) or "-"

    @admin.display(description="GPUs")
    def gpu_summary(self, worker: Worker) -> str:
        if not worker.gpus:
            return "-"
        return format_html_join(
            mark_safe("<br>"),
            "{}: {} ({})",
            (
                (gpu.get("index"), gpu.get("model"), gpu.get("generation") or "unknown generation")
                for gpu in worker.gpus
            ),
        )

    @admin.display(description="jobs now")
    def current_job_links(self, worker: Worker) -> str:
        pks = getattr(worker, "current_jobs", None)
        if pks is None:  # a single worker's page
            pks = holdings().worker_current_jobs(names=[worker.name]).get(worker.name, [])
        return job_links(pks)

    def has_delete_permission(self, request: HttpRequest, obj: Worker | None = None) -> bool:
        if obj is not None and worker_is_alive(obj):
            return False
        return admin.ModelAdmin.has_delete_permission(self, request, obj)  # past ReadOnlyModelAdmin's "never"


@admin.register(Node)
class NodeAdmin(ReadOnlyModelAdmin):
    list_display = [
        "pk",
        "owner",
        "ip",
        "index",
        "hardware_generation",
        "gpu_mem",
        "cpu_mem",
        "last_seen",
        "alive",
        "current_job_links",
    ]
    list_filter = [AliveFilter, ("hardware_generation", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["=id", "ip", "owner__username"]
    fields = [
        "owner",
        "ip",
        "index",
        "driver_version",
        "hardware_generation",
        "gpu_mem",
        "cpu_mem",
        "last_seen",
        "alive",
        "current_job_links",
        "creation_time",
    ]
    readonly_fields = ["alive", "current_job_links"]  # not fields of the model

    def get_queryset(self, request: HttpRequest):
        return holdings().nodes_with_jobs()

    @admin.display(boolean=True, description="alive", ordering="alive")
    def alive(self, node: Node) -> bool:
        return bool(getattr(node, "alive", False))  # annotated by runners.selectors.node_list

    @admin.display(description="current job")
    def current_job_links(self, node: Node) -> str:
        return job_links([job.pk for job in getattr(node, "current_jobs", [])])  # holdings().nodes_with_jobs
