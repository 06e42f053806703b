"""Jobs and their outputs.

A job keeps what it was given (``input_values``, ``parameter_values``, as UFDL returns them) and what
it resolved (every parameter with its default applied), so a worker never re-reads mutable template
state. Its lifecycle is an explicit ``status`` column written only by the guarded transition service.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from config.softdelete import SoftDeleteModel


class JobStatus(models.TextChoices):
    CREATED = "created"
    RUNNING = "running"
    FINISHED = "finished"
    ERRORED = "errored"
    CANCELLED = "cancelled"


FINAL_STATUSES = frozenset({JobStatus.FINISHED, JobStatus.ERRORED, JobStatus.CANCELLED})


class Job(SoftDeleteModel):
    """One run of a template (a meta-template's job is the parent of its children's jobs)."""

    template = models.ForeignKey("jobtemplates.JobTemplate", on_delete=models.PROTECT, related_name="jobs")
    parent = models.ForeignKey("self", on_delete=models.CASCADE, null=True, blank=True, related_name="children")
    # null, not "": these fields are null on the wire (UFDL's shape) and null means "not set" here.
    child_name = models.CharField(  # noqa: DJ001
        max_length=100, null=True, blank=True, help_text="the node name of this job in its parent meta-job"
    )
    description = models.TextField(blank=True)
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="jobs"
    )
    creation_time = models.DateTimeField(auto_now_add=True)
    # Who besides its creator may see the job: the members of this project's team (a project-scoped
    # template's project, inherited by a meta-job's children). None: the creator and admins only.
    project = models.ForeignKey(
        "workspaces.Project", on_delete=models.PROTECT, null=True, blank=True, related_name="jobs"
    )

    status = models.CharField(max_length=10, choices=JobStatus.choices, default=JobStatus.CREATED, db_index=True)
    start_time = models.DateTimeField(null=True, blank=True)
    end_time = models.DateTimeField(null=True, blank=True)
    error_reason = models.TextField(null=True, blank=True)  # noqa: DJ001
    is_cancelled = models.BooleanField(default=False)
    # Who runs it (fixed at creation from its template's executor module): our Celery workers on
    # ``queue``, UFDL job-launcher nodes (the ``node`` that acquired it), or none (queued anyway).
    runner = models.CharField(max_length=8, default="celery", db_index=True, help_text="celery, node or none")
    queue = models.CharField(max_length=100, blank=True, help_text="the Celery queue its task goes to")
    node = models.ForeignKey(
        "runners.Node",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="jobs",
        help_text="the UFDL job-launcher node that acquired it",
    )
    worker = models.CharField(max_length=200, null=True, blank=True, help_text="the Celery worker running it")  # noqa: DJ001
    progress = models.FloatField(default=0.0)
    progress_data = models.JSONField(default=dict, blank=True)
    heartbeat = models.DateTimeField(null=True, blank=True, help_text="last sign of life of the running worker")
    attempts = models.PositiveIntegerField(default=0, help_text="how many times a worker claimed it")
    enqueued_time = models.DateTimeField(null=True, blank=True, help_text="when its task was last sent")
    sends = models.PositiveIntegerField(default=0, help_text="how many times its task was sent")
    # A fresh token per claim: a worker presumed dead (and replaced) cannot write over its successor.
    claim_token = models.UUIDField(null=True, blank=True, editable=False)

    # Given (as the client sent them, type strings canonicalised) and resolved (defaults applied).
    input_values = models.JSONField(default=dict, blank=True)
    parameter_values = models.JSONField(default=dict, blank=True)
    resolved_parameters = models.JSONField(default=dict, blank=True)
    notification_override = models.JSONField(null=True, blank=True)
    child_notification_overrides = models.JSONField(null=True, blank=True)
    # The job this one was relaunched from (job_relaunch): same template, its values or edited ones.
    relaunched_from = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="relaunches",
        help_text="the job this one repeats (a relaunch)",
    )
    # A child replaced by a retry of its meta-job (meta_job_retry): kept as history, no longer followed.
    superseded_time = models.DateTimeField(
        null=True, blank=True, help_text="when a retry of its meta-job replaced this child (kept as history)"
    )

    class Meta:
        ordering = ["pk"]
        # Beyond a job's creator (who may always cancel it): what the admin's job page lets an operator do.
        permissions = [
            ("cancel_any_job", "Can cancel any job (not only their own)"),
            ("abort_job", "Can abort a job (back to created, outputs removed, queued again)"),
        ]
        indexes = [
            models.Index(fields=["status", "heartbeat"], name="job_status_heartbeat"),
            models.Index(fields=["parent", "child_name"], name="job_parent_child"),
            # The node poll: queued node jobs nobody holds (a small partial index, whatever the history).
            models.Index(
                fields=["id"],
                name="job_node_queue",
                condition=Q(runner="node", status="created", node__isnull=True, deletion_time__isnull=True),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["parent", "child_name"],
                # One current child per node; those a retry replaced stay beside it.
                condition=Q(parent__isnull=False, superseded_time__isnull=True),
                name="job_unique_current_child_per_parent",
            ),
            models.CheckConstraint(condition=Q(progress__gte=0) & Q(progress__lte=1), name="job_progress_range"),
        ]

    def __str__(self) -> str:
        return f"job {self.pk} ({self.template_id}, {self.status})"


def job_output_path(instance: JobOutput, filename: str) -> str:
    return f"job-outputs/{instance.job_id}/{filename}"


class JobOutput(SoftDeleteModel):
    """A named, typed output of a job, stored through Django's storage API."""

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="outputs")
    name = models.CharField(max_length=300)
    type = models.CharField(max_length=1000, help_text="canonical type string")
    file = models.FileField(upload_to=job_output_path, max_length=700)
    size = models.BigIntegerField(default=0)
    # A meta-job surfaces its children's outputs as "child:output": those rows point at the child's row.
    source = models.ForeignKey("self", on_delete=models.CASCADE, null=True, blank=True, related_name="surfaced_as")
    creation_time = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        constraints = [models.UniqueConstraint(fields=["job", "name", "type"], name="joboutput_unique_job_name_type")]

    def __str__(self) -> str:
        return f"{self.job_id}: {self.name} ({self.type})"


class JobReference(models.Model):
    """A server row a job's values name (a dataset by pk or by name, a docker image, an output…).

    Values are JSON, so no foreign key sees these references; this table does, so that a hard delete of
    the row can refuse (409) while jobs still name it.
    """

    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="references")
    model_label = models.CharField(max_length=100, help_text="app_label.ModelName of the row")
    row_pk = models.BigIntegerField()
    path = models.CharField(max_length=400, help_text="where the job names it, e.g. input_values.dataset")

    class Meta:
        indexes = [models.Index(fields=["model_label", "row_pk"], name="jobreference_row")]
        constraints = [
            models.UniqueConstraint(fields=["job", "model_label", "row_pk", "path"], name="jobreference_unique")
        ]

    def __str__(self) -> str:
        return f"job {self.job_id} → {self.model_label} {self.row_pk} ({self.path})"
