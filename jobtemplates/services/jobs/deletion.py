"""Hard delete of a job: refused while it or a descendant runs; its and its descendants' files go too."""

from __future__ import annotations

from django.db import transaction

from config.errors import Conflict, Problem
from config.softdelete import hard_delete
from jobtemplates.models import Job, JobOutput, JobReference, JobStatus


def job_family_ids(*, job: Job) -> list[int]:
    """The job's pk and its descendants' (one query per generation)."""
    family, generation = [job.pk], [job.pk]
    while generation:
        generation = list(Job.objects.filter(parent_id__in=generation).values_list("pk", flat=True))
        family += generation
    return family


def job_hard_delete(*, job: Job) -> None:
    """Delete ``job`` (and, by cascade, its descendants and outputs) for good; 409 while any of them
    runs. Stored files are removed once the deletion has committed, so a refused or rolled-back delete
    leaves every file in place."""
    family = job_family_ids(job=job)
    if Job.objects.filter(pk__in=family, status=JobStatus.RUNNING).exists():
        raise Conflict(
            "A running job cannot be deleted; cancel it first.",
            code="job_running",
            problems=[Problem(path="status", code="job_running", message="running")],
            extra={"status": job.status},
        )
    outputs = JobOutput.objects.filter(job_id__in=family).values_list("pk", flat=True)
    users = (
        JobReference.objects.filter(model_label=JobOutput._meta.label, row_pk__in=outputs)
        .exclude(job_id__in=family)
        .order_by("job_id")
        .values_list("job_id", "path")[:10]
    )
    if users:
        raise Conflict(
            "Another job uses this job's outputs; delete that job first.",
            code="referenced",
            problems=[
                Problem(path="", code="referenced", message=f"used by job {job_id} ({path})") for job_id, path in users
            ],
        )
    # Surfaced rows (``source`` set) share their source's file: only originals own one.
    files = list(JobOutput.objects.filter(job_id__in=family, source__isnull=True).values_list("file", flat=True))
    storage = JobOutput._meta.get_field("file").storage
    with transaction.atomic():
        hard_delete(instance=job)

        def delete_files() -> None:
            for name in files:
                if name:
                    storage.delete(name)

        transaction.on_commit(delete_files)
