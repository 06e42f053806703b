"""Soft delete, reinstate and hard delete of templates, with their 409s."""

from __future__ import annotations

from django.db import transaction

from config.errors import Conflict, Problem
from config.softdelete import hard_delete, reinstate, soft_delete
from jobtemplates.models import JobTemplate


def template_soft_delete(*, template: JobTemplate) -> JobTemplate:
    """Hide a template from lists and matching; its jobs and the meta-templates using it keep working."""
    return soft_delete(instance=template)


def template_reinstate(*, template: JobTemplate) -> JobTemplate:
    """Bring a soft-deleted template back; 409 if an active template has its name and version."""
    if template.deletion_time is not None:
        clash = JobTemplate.objects.active().filter(name=template.name, version=template.version).first()
        if clash is not None:
            raise Conflict(
                f"An active template {clash} (pk {clash.pk}) already has this name and version.",
                code="duplicate_version",
                problems=[Problem(path="", code="duplicate_version", message=f"clashes with template {clash.pk}")],
            )
    return reinstate(instance=template)


@transaction.atomic
def template_hard_delete(*, template: JobTemplate) -> None:
    """Delete a template for good; 409 (nothing removed) while a job or a meta-template references it."""
    jobs = template.jobs.count()
    parents = list(
        JobTemplate.objects.filter(nodes__child=template).values_list("pk", "name", "version").distinct()[:10]
    )
    problems = []
    if jobs:
        problems.append(Problem(path="", code="referenced_by_jobs", message=f"{jobs} job(s) ran this template"))
    problems += [
        Problem(
            path="", code="referenced_by_meta_template", message=f"used by meta-template {name} v{version} (pk {pk})"
        )
        for pk, name, version in parents
    ]
    if problems:
        raise Conflict(f"{template} is still referenced and cannot be deleted.", code="referenced", problems=problems)
    hard_delete(instance=template)
