"""The jobs' admin as an operations console: browse jobs and their outputs; on a job's page its progress as
a bar, its log's tail, a meta-job's graph coloured by its children's statuses (refreshed while it runs by
a small script polling ``…/<pk>/live/``), and cancel, abort and relaunch (job_actions).

Jobs and job outputs are written by the job services and the workers only: their pages are read-only.
"""

from __future__ import annotations

import json

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from config.admin_base import ReadOnlyInline, ReadOnlyModelAdmin, SoftDeleteStateFilter, is_active
from jobtemplates.admin.job_actions import JobConsoleViews, job_action_buttons
from jobtemplates.admin.job_console import graph_panel, live_marker, log_panel, progress_bar
from jobtemplates.models import IdempotencyKey, Job, JobOutput
from notifications.kinds import redact_secrets


class OutputDownloadColumn:
    """A job output's "download": a link to its bytes (``/v1/job-outputs/{pk}/download``, which admins
    may use)."""

    @admin.display(description="download")
    def download(self, output: JobOutput) -> str:
        if output.pk is None or not output.file:
            return "-"
        return format_html('<a href="{}">download</a>', reverse("job-output-download", kwargs={"pk": output.pk}))


class JobProgressColumn:
    @admin.display(description="progress")
    def progress_percent(self, job: Job) -> SafeString:
        return progress_bar(job)


class JobOutputInline(OutputDownloadColumn, ReadOnlyInline):
    model = JobOutput
    fk_name = "job"
    fields = readonly_fields = ("name", "type", "size", "creation_time", "deletion_time", "download")


class JobChildInline(JobProgressColumn, ReadOnlyInline):
    """A meta-job's children, each linking to its own page."""

    model = Job
    fk_name = "parent"
    fields = readonly_fields = ("child_name", "template", "status", "progress_percent", "start_time", "end_time")
    show_change_link = True
    verbose_name = "child job"
    verbose_name_plural = "child jobs"


# What an operator looks at first (the graph or the log comes next), then the rest of the run.
SUMMARY_FIELDS = ["template", "live_status", "live_progress", "error_reason", "creator", "description"]
JOB_FIELDS = ["parent", "child_name", "relaunched_from", "creation_time", "deletion_time"]
RUN_FIELDS = [
    "is_cancelled",
    "start_time",
    "end_time",
    "progress_data",
    "runner",
    "queue",
    "worker",
    "node",
    "heartbeat",
    "attempts",
    "sends",
    "enqueued_time",
]


@admin.register(Job)
class JobAdmin(JobConsoleViews, JobProgressColumn, ReadOnlyModelAdmin):
    list_display = [
        "pk",
        "template",
        "child_name",
        "status",
        "progress_percent",
        "creator",
        "creation_time",
        "end_time",
        is_active,
    ]
    list_filter = [
        "status",
        "runner",
        ("template", admin.RelatedOnlyFieldListFilter),
        ("creator", admin.RelatedOnlyFieldListFilter),
        SoftDeleteStateFilter,
    ]
    list_select_related = ["template", "creator"]
    search_fields = ["=id", "description", "template__name", "creator__username", "error_reason"]
    # Not fields of the model (the page shows every field read-only).
    readonly_fields = ["live_status", "live_progress", "log", "graph", "notification_overrides"]

    class Media:
        js = ["jobtemplates/admin/job_live.js"]

    def get_fieldsets(self, request, obj=None):
        fieldsets = [(None, {"fields": SUMMARY_FIELDS})]
        if obj is not None:
            fieldsets.append(("Graph", {"fields": ["graph"]}) if obj.template.is_meta else ("Log", {"fields": ["log"]}))
        return [
            *fieldsets,
            ("Job", {"fields": JOB_FIELDS}),
            ("Run", {"fields": RUN_FIELDS}),
            ("Values", {"fields": ["input_values", "parameter_values", "resolved_parameters"]}),
            ("Notifications", {"fields": ["notification_overrides"]}),
        ]

    @admin.display(description="status")
    def live_status(self, job: Job) -> SafeString:
        return format_html('<span data-live="status">{}</span>', job.status)

    @admin.display(description="progress")
    def live_progress(self, job: Job) -> SafeString:
        """The bar, and (while the job is unfinished) what starts the page's polling."""
        return format_html("{}{}", progress_bar(job), live_marker(job))

    @admin.display(description="log (its end)")
    def log(self, job: Job) -> SafeString:
        return log_panel(job)

    @admin.display(description="children by status")
    def graph(self, job: Job) -> SafeString:
        return graph_panel(job)

    @admin.display(description="notification override, child overrides")
    def notification_overrides(self, job: Job) -> str:
        """Both overrides as JSON, webhook signing secrets hidden."""
        return json.dumps(
            {
                "notification_override": redact_secrets(job.notification_override),
                "child_notification_overrides": redact_secrets(job.child_notification_overrides),
            }
        )

    def get_inlines(self, request, obj):
        if obj is not None and obj.template.is_meta:
            return [JobOutputInline, JobChildInline]
        return [JobOutputInline]

    def get_urls(self):
        return self.console_urls() + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        job = self.get_object(request, object_id)
        buttons = job_action_buttons(request.user, job) if job is not None else []
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), "job_actions": buttons})


@admin.register(JobOutput)
class JobOutputAdmin(OutputDownloadColumn, ReadOnlyModelAdmin):
    list_display = ["pk", "job", "name", "type", "size", "creation_time", is_active, "download"]
    list_filter = [SoftDeleteStateFilter]
    list_select_related = ["job"]
    search_fields = ["=job__id", "name", "type"]
    fields = ["job", "name", "type", "size", "source", "creation_time", "deletion_time", "download"]
    readonly_fields = ["download"]  # not a field of the model (the page shows every field read-only)


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(ReadOnlyModelAdmin):
    """create-job's Idempotency-Keys (written with their jobs; pruned by the reaper after a day)."""

    list_display = ["key", "user", "job", "creation_time"]
    list_select_related = ["user", "job"]
    search_fields = ["=key", "user__username", "=job__id"]
    fields = readonly_fields = ("key", "user", "job", "fingerprint", "creation_time")
