"""Recording which server rows a job names, and answering "is this row still used by a job?"."""

from __future__ import annotations

from typing import Any

from django.db import models

from contracts.resident import values_check
from contracts.types import TypeParseError, parse_type
from jobtemplates.models import Job, JobReference


def job_references_record(*, job: Job, named_rows: dict[str, list[models.Model]] | None = None) -> int:
    """Record the rows named by a job's inputs and resolved parameters (once, at creation).

    ``named_rows`` are the rows create-job's check found for the values given (keyed by
    ``input_values.<name>`` / ``parameter_values.<name>``); only the rest (template defaults naming
    rows) are looked up here, all at once.
    """
    references = job_references_rows(job=job, named_rows=named_rows)
    for reference in references:
        reference.job = job
    if references:
        JobReference.objects.bulk_create(references, ignore_conflicts=True)
    return len(references)


def job_references_rows(*, job: Job, named_rows: dict[str, list[models.Model]] | None = None) -> list[JobReference]:
    """The references ``job_references_record`` writes, unsaved and without their job (so they can be
    inserted with a job not inserted yet); each (row, path) once."""
    named_rows = named_rows or {}
    found: list[tuple[str, list[models.Model]]] = []
    unchecked: list[tuple[str, Any, Any]] = []
    for section, values in (("input_values", job.input_values), ("parameter_values", job.resolved_parameters)):
        for name, given in values.items():
            path = f"{section}.{name}"
            if path in named_rows:
                found.append((path, named_rows[path]))
                continue
            try:
                declared = parse_type(given["type"])
            except TypeParseError:
                continue  # stored by an older version in a spelling that no longer parses: nothing to protect
            unchecked.append((path, declared, given["value"]))
    if unchecked:
        checked = values_check([(declared, value, path) for path, declared, value in unchecked], user=None)
        for (path, _, _), outcome in zip(unchecked, checked, strict=True):
            # A template default naming a row that does not exist (yet) has problems: nothing to protect.
            if not outcome.problems:
                found.append((path, outcome.rows))
    keys = dict.fromkeys((row._meta.label, row.pk, path) for path, rows in found for row in rows)
    return [JobReference(model_label=label, row_pk=pk, path=path) for label, pk, path in keys]


def jobs_referencing(*, row: models.Model, limit: int = 10) -> list[str]:
    """Descriptions of (up to ``limit``) jobs that name ``row``."""
    references = JobReference.objects.filter(model_label=row._meta.label, row_pk=row.pk).order_by("job_id")
    return [f"job {job_id} ({path})" for job_id, path in references.values_list("job_id", "path")[:limit]]


def dataset_used_by_jobs(dataset) -> list[str]:
    """The dataset hard-delete check (registered at startup): jobs that name the dataset."""
    return jobs_referencing(row=dataset)
