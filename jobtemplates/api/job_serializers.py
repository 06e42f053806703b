"""Representations of jobs (http-api.md §4.1) and job outputs — compat keys first."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from config.api.fields import FreeTextField
from jobtemplates.models import Job, JobOutput
from notifications.kinds import redact_secrets

_time = serializers.DateTimeField()


def _when(value) -> str | None:
    return _time.to_representation(value) if value else None


def output_representation(output: JobOutput) -> dict[str, Any]:
    return {"pk": output.pk, "name": output.name, "type": output.type}


def may_see_notifications(job: Job, viewer) -> bool:
    """Notification settings name addresses and webhook URLs (which often carry secrets): only the
    job's creator and admins see them, though anyone who may see the job sees the rest of it."""
    return viewer is None or viewer.is_staff or (job.creator_id is not None and job.creator_id == viewer.pk)


def job_representation(job: Job, viewer=None, *, created_children: list[int] | None = None) -> dict[str, Any]:
    """The §4.1 job. Outputs and children come from prefetched rows when the job was listed. ``viewer``
    (the requesting user) decides whether notification settings are shown; None shows them.
    ``created_children``: the job was just created by this request (so it has no outputs yet) with these
    children; nothing is read."""
    saved = job.pk is not None and created_children is None
    data = {
        "pk": job.pk,
        "template": {"pk": job.template.pk, "name": job.template.name, "version": job.template.version},
        "parent": job.parent_id,
        "start_time": _when(job.start_time),
        "end_time": _when(job.end_time),
        "error_reason": job.error_reason,
        "input_values": job.input_values,
        "parameter_values": job.parameter_values,
        "node": job.node_id,
        "description": job.description,
        "outputs": [output_representation(o) for o in job.outputs.all() if o.deletion_time is None] if saved else [],
        "is_cancelled": job.is_cancelled,
        "creator": job.creator_id,
        "creation_time": _when(job.creation_time),
        "deletion_time": _when(job.deletion_time),
        # ours
        "status": job.status,
        "progress": job.progress,
        "children": [child.pk for child in job.children.all()] if saved else list(created_children or []),
        "child_name": job.child_name,
        "worker": job.worker,
        "attempts": job.attempts,
        "resolved_parameters": job.resolved_parameters,
        "project": job.project_id,
        "relaunched_from": job.relaunched_from_id,
    }
    if may_see_notifications(job, viewer):
        # Webhook signing secrets are write-only.
        data["notification_override"] = redact_secrets(job.notification_override)
        data["child_notification_overrides"] = redact_secrets(job.child_notification_overrides)
    return data


def output_info(output: JobOutput) -> dict[str, Any]:
    return {
        "pk": output.pk,
        "job": output.job_id,
        "name": output.name,
        "type": output.type,
        "size": output.size,
        "creation_time": _when(output.creation_time),
        "deletion_time": _when(output.deletion_time),
        "source": output.source_id,
    }


class JobSerializer(serializers.Serializer):
    """A job: what it was given and resolved, its status, progress, outputs and children."""

    pk = serializers.IntegerField(read_only=True)
    template = serializers.DictField(read_only=True, help_text="{pk, name, version}")
    # DRF's metaclass moves declared fields out of the class, so this does not shadow Field.parent
    # (the stubs see a class attribute).
    parent = serializers.IntegerField(read_only=True, allow_null=True)  # type: ignore[assignment]
    start_time = serializers.DateTimeField(read_only=True, allow_null=True)
    end_time = serializers.DateTimeField(read_only=True, allow_null=True)
    error_reason = serializers.CharField(read_only=True, allow_null=True)
    input_values = serializers.DictField(read_only=True, help_text="input name → {value, type}")
    parameter_values = serializers.DictField(read_only=True, help_text="parameter name → {value, type}, as given")
    node = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="the pk of the UFDL node that acquired it"
    )
    description = serializers.CharField(read_only=True)
    outputs = serializers.ListField(child=serializers.DictField(), read_only=True, help_text="[{pk, name, type}]")
    is_cancelled = serializers.BooleanField(read_only=True)
    creator = serializers.IntegerField(read_only=True, allow_null=True)
    creation_time = serializers.DateTimeField(read_only=True)
    deletion_time = serializers.DateTimeField(read_only=True, allow_null=True)
    status = serializers.ChoiceField(choices=["created", "running", "finished", "errored", "cancelled"], read_only=True)
    progress = serializers.FloatField(read_only=True)
    children = serializers.ListField(child=serializers.IntegerField(), read_only=True)
    child_name = serializers.CharField(read_only=True, allow_null=True)
    worker = serializers.CharField(read_only=True, allow_null=True)
    attempts = serializers.IntegerField(read_only=True)
    resolved_parameters = serializers.DictField(read_only=True, help_text="every parameter, defaults applied")
    project = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="whose team's members see the job besides its creator"
    )
    relaunched_from = serializers.IntegerField(
        read_only=True, allow_null=True, help_text="ours: the job this one repeats (POST /v1/jobs/{pk}/relaunch)"
    )

    def to_representation(self, instance: Job) -> dict[str, Any]:
        request = self.context.get("request")
        return job_representation(instance, viewer=request.user if request else None)


class JobOutputSerializer(serializers.Serializer):
    """A job output: its job, name, type and size (download it from …/download)."""

    pk = serializers.IntegerField(read_only=True)
    job = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    type = serializers.CharField(read_only=True)
    size = serializers.IntegerField(read_only=True)
    creation_time = serializers.DateTimeField(read_only=True)
    deletion_time = serializers.DateTimeField(read_only=True, allow_null=True)
    source = serializers.IntegerField(read_only=True, allow_null=True)  # type: ignore[assignment]  # (as parent)

    def to_representation(self, instance: JobOutput) -> dict[str, Any]:
        return output_info(instance)


class JobDescriptionSerializer(serializers.Serializer):
    """The one field of a job that may change after creation."""

    description = FreeTextField()
