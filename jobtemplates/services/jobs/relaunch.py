"""Relaunch: a new job from a job's template with the job's values, or with some of them changed.

The new job is created exactly as create-job creates one (``job_create_with_children``: every value
checked again against the template, as the relauncher, with every problem located), so a relaunch can
do nothing a create-job could not; it records the job it repeats in ``relaunched_from``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from config.errors import Conflict, PermissionDenied, Problem
from jobtemplates.models import Job, TemplateScope
from jobtemplates.selectors import template_visible_to
from jobtemplates.services.jobs.creation import job_create_with_children


class NotRelaunchable(Conflict):
    """The job cannot be relaunched on its own (a meta-job's child: its inputs are wired by its parent)."""

    code = "not_relaunchable"


def job_relaunch_body(*, job: Job, creator) -> dict[str, Any]:
    """The create-job body that repeats ``job``: its given values and description, its project when the
    request named one (a project-scoped template's jobs are in its project anyway), and its notification
    overrides only for the job's own creator (they name someone's addresses and webhooks)."""
    body: dict[str, Any] = {
        "input_values": job.input_values,
        "parameter_values": job.parameter_values,
        "description": job.description,
    }
    if job.project_id is not None and job.template.scope != TemplateScope.PROJECT:
        body["project"] = job.project_id
    if job.creator_id is not None and job.creator_id == getattr(creator, "pk", None):
        if job.notification_override is not None:
            body["notification_override"] = job.notification_override
        if job.child_notification_overrides is not None:
            body["child_notification_overrides"] = job.child_notification_overrides
    return body


def job_relaunch(*, job: Job, creator, changes: Mapping[str, Any] | None = None) -> Job:
    """Create a new job from ``job``'s template with ``job``'s values, each key of ``changes`` (a create-job
    body key: http-api.md §3.4) replacing the job's; ``creator`` runs it. A child of a meta-job is a 409 (relaunch its
    meta-job); a template ``creator`` may not see is a 403, a soft-deleted one a 409 (as for create-job);
    an unknown key of ``changes`` or an invalid value is a 400/422 with every problem located, and no job
    is created. The caller has checked that ``creator`` may see ``job`` (the API's visible jobs, the
    admin's view permission)."""
    if job.parent_id is not None:
        raise NotRelaunchable(
            f"Job {job.pk} is the {job.child_name!r} child of meta-job {job.parent_id}: relaunch the meta-job.",
            problems=[Problem(path="", code="child_job", message="a meta-job's child runs as part of it")],
            extra={"parent": job.parent_id},
        )
    if not template_visible_to(user=creator).filter(pk=job.template_id).exists():
        raise PermissionDenied(f"You may not run jobs of {job.template}.")
    # An unknown key is create-job's to report (unknown_key, with every other problem).
    body = {**job_relaunch_body(job=job, creator=creator), **(changes or {})}
    return job_create_with_children(template=job.template, body=body, creator=creator, relaunched_from=job).job
