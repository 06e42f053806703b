"""create-job: check the request, write the job (and a meta-job's ready children), enqueue after commit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from config.errors import Conflict
from jobtemplates.models import IdempotencyKey, Job, JobTemplate, TemplateScope
from jobtemplates.services.jobs.enqueueing import job_route, job_send_after_commit, job_sent_on_insert
from jobtemplates.services.jobs.inserting import Dependents, insert_with_dependents
from jobtemplates.services.jobs.metajobs import meta_job_start
from jobtemplates.services.jobs.references import job_references_record, job_references_rows
from jobtemplates.services.jobs.requests import JobRequest, check_job_request
from jobtemplates.services.runnability import runnability
from runners.capabilities import Fleet


class TemplateDeleted(Conflict):
    code = "template_deleted"


class NotRunnable(Conflict):
    """Nothing can run the template's jobs now (no live worker or node that can)."""

    code = "not_runnable"


def job_project_id(*, template: JobTemplate, request: JobRequest, parent: Job | None = None) -> int | None:
    """Whose team's members see the job besides its creator: a child's parent's project; a project-scoped
    template's project; the project the request names (ours); otherwise none (the creator and admins)."""
    if parent is not None:
        return parent.project_id
    if template.scope == TemplateScope.PROJECT:
        return template.project_id
    return request.project.pk if request.project is not None else None


def job_build(
    *,
    template: JobTemplate,
    request: JobRequest,
    creator,
    parent: Job | None = None,
    child_name: str | None = None,
    relaunched_from: Job | None = None,
) -> Job:
    """An unsaved job from a checked request, routed: its runner and (for Celery) its queue."""
    runner, queue = job_route(template)
    return Job(
        runner=runner,
        queue=queue,
        template=template,
        parent=parent,
        child_name=child_name,
        creator=creator if getattr(creator, "pk", None) else None,
        project_id=job_project_id(template=template, request=request, parent=parent),
        description=request.description,
        input_values=request.input_values,
        parameter_values=request.parameter_values,
        resolved_parameters=request.resolved_parameters,
        notification_override=request.notification_override,
        child_notification_overrides=request.child_notification_overrides,
        relaunched_from=relaunched_from,
    )


@dataclass(frozen=True)
class JobCreation:
    """A created (or, dry run, unsaved) job and the pks of the children created with it."""

    job: Job
    children: list[int]


def job_create(*, template: JobTemplate, body: Any, creator, dry_run: bool = False) -> Job:
    """Create a job from ``template`` (http-api.md §3.4). ``dry_run`` checks and returns the job that
    would be created, unsaved. A soft-deleted template is a 409, and so is one that nothing can run now
    (no live worker or node that can: docs/runners.md) unless the body says ``"queue_anyway": true``;
    the job then waits until something can run it."""
    return job_create_with_children(template=template, body=body, creator=creator, dry_run=dry_run).job


def job_create_with_children(
    *,
    template: JobTemplate,
    body: Any,
    creator,
    dry_run: bool = False,
    with_row: IdempotencyKey | None = None,
    relaunched_from: Job | None = None,
) -> JobCreation:
    """``job_create``, also saying which children (of a meta-job) it created, so the answer needs no re-read.

    Checking reads the rows the body names (one query per table; the template's parameters are kept per
    process: kept_templates); the verdict reads the fleet snapshot (``FLEET_SNAPSHOT_SECONDS``: a verdict
    is advice, a job that nothing runs yet waits). Then the job (already marked sent when Celery runs
    it) and its references are inserted in one statement (PostgreSQL; a transaction elsewhere), a
    meta-job with its ready children in one transaction; the task is sent after commit. ``with_row``:
    an unsaved row with a ``job`` to point at the new job, written with it (an idempotency key);
    ``relaunched_from``: the job this one repeats (job_relaunch), recorded on the new row.
    """
    if template.deletion_time is not None:
        raise TemplateDeleted(f"{template} is deleted; reinstate it or use another version.")
    request = check_job_request(template=template, body=body, user=creator)
    if not request.queue_anyway:
        verdict = runnability([template], fleet=Fleet.snapshot())[template.pk]
        if not verdict.runnable:
            raise NotRunnable(
                f'Nothing can run {template} now: {verdict.reason}. Send "queue_anyway": true to create '
                "the job anyway; it waits until a worker or node that can run it is there.",
                extra={"runner": verdict.runner, "runnable_by": verdict.runnable_by, "reason": verdict.reason},
            )
    job = job_build(template=template, request=request, creator=creator, relaunched_from=relaunched_from)
    if dry_run:
        return JobCreation(job=job, children=[])
    children: list[Job] = []
    if template.is_meta:
        with transaction.atomic():
            job.save()
            job_references_record(job=job, named_rows=request.named_rows)
            children = meta_job_start(parent=job)
            if with_row is not None:
                with_row.job = job
                with_row.save(force_insert=True)
        return JobCreation(job=job, children=sorted(child.pk for child in children))
    sent = job_sent_on_insert(job=job)
    dependents = [Dependents(job_references_rows(job=job, named_rows=request.named_rows), "job", ignore_conflicts=True)]
    if with_row is not None:
        dependents.append(Dependents([with_row], "job"))
    insert_with_dependents(job, dependents)
    if sent:
        job_send_after_commit(job=job)
    return JobCreation(job=job, children=[])
