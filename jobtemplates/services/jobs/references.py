"""Recording which server rows a job names, and answering "is this row still used by a job?"."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db import models

from config.errors import ApplicationError
from contracts.resident import resolve_value
from contracts.types import parse_type
from jobtemplates.models import Job, JobReference


def _rows(value: Any) -> Iterator[models.Model]:
    if isinstance(value, models.Model):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _rows(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _rows(item)


def job_references_record(*, job: Job) -> int:
    """Record the rows named by a job's inputs and resolved parameters (once, at creation)."""
    references = []
    for section, values in (("input_values", job.input_values), ("parameter_values", job.resolved_parameters)):
        for name, given in values.items():
            try:
                resolved = resolve_value(parse_type(given["type"]), given["value"], user=None)
            except ApplicationError:
                continue  # a template default naming a row that does not exist (yet): nothing to protect
            references += [
                JobReference(job=job, model_label=row._meta.label, row_pk=row.pk, path=f"{section}.{name}")
                for row in _rows(resolved)
            ]
    JobReference.objects.bulk_create(references, ignore_conflicts=True)
    return len(references)


def jobs_referencing(*, row: models.Model, limit: int = 10) -> list[str]:
    """Descriptions of (up to ``limit``) jobs that name ``row``."""
    references = JobReference.objects.filter(model_label=row._meta.label, row_pk=row.pk).order_by("job_id")
    return [f"job {job_id} ({path})" for job_id, path in references.values_list("job_id", "path")[:limit]]


def dataset_used_by_jobs(dataset) -> list[str]:
    """The dataset hard-delete check (registered at startup): jobs that name the dataset."""
    return jobs_referencing(row=dataset)
