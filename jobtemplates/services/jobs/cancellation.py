"""Cancel (creator or admin), abort (admin) and their cascades.

Cancelling marks the job (and every unfinished descendant) ``cancelled`` at once. A queued job never
runs (the worker's claim refuses it); a running one sees ``ctx.cancelled()`` turn true and stops, and
its worker terminates the executor after a grace period if it does not (see executors.runner).
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from config.errors import Problem
from jobtemplates.models import FINAL_STATUSES, Job, JobStatus
from jobtemplates.services.jobs.enqueueing import job_enqueue
from jobtemplates.services.jobs.outputs import job_outputs_remove
from jobtemplates.services.jobs.transitions import IllegalTransition, job_transition


def job_cancel(*, job: Job) -> Job:
    """Cancel a job and its unfinished descendants. Cancelling a cancelled job changes nothing;
    a finished or errored job is a 409 naming its status."""
    if job.status == JobStatus.CANCELLED:
        return job
    if job.status in FINAL_STATUSES:
        raise IllegalTransition(
            f"A {job.status} job cannot be cancelled.",
            problems=[Problem(path="status", code="illegal_transition", message=f"{job.status} → cancelled")],
            extra={"status": job.status},
        )
    with transaction.atomic():
        job_cancel_tree(job_id=job.pk, reason="cancelled")
    job.refresh_from_db()
    if job.status != JobStatus.CANCELLED:
        # It finished (or errored) between our read and the cancel: say so, as for any final job.
        raise IllegalTransition(
            f"The job became {job.status} before it could be cancelled.",
            problems=[Problem(path="status", code="illegal_transition", message=f"{job.status} → cancelled")],
            extra={"status": job.status},
        )
    return job


def job_cancel_tree(*, job_id: int, reason: str) -> None:
    """Cancel ``job_id`` if unfinished, then its unfinished descendants (depth first)."""
    for child_id in (
        Job.objects.filter(parent_id=job_id).exclude(status__in=FINAL_STATUSES).values_list("pk", flat=True)
    ):
        job_cancel_tree(job_id=child_id, reason=reason)
    try:
        job_transition(
            job_id=job_id,
            to=JobStatus.CANCELLED,
            actions=("on_cancel",),
            fields={"is_cancelled": True, "end_time": timezone.now()},
            transition_data={"reason": reason},
        )
    except IllegalTransition:
        pass  # it finished meanwhile: nothing to cancel


def job_abort(
    *,
    job: Job,
    expected: tuple[str, ...] = (JobStatus.RUNNING, JobStatus.ERRORED),
    actions: tuple[str, ...] = ("on_abort", "on_reset"),
) -> Job:
    """Admin reset: a running or errored workable job goes back to ``created`` with its outputs removed,
    its worker or node let go, and is queued again (a node job waits to be acquired again). Meta-jobs
    cannot be aborted (cancel them instead)."""
    if job.template.is_meta:
        raise IllegalTransition(
            "A meta-job cannot be aborted; cancel it instead.",
            problems=[Problem(path="", code="meta_job", message="meta-jobs run no executor")],
            extra={"status": job.status},
        )
    with transaction.atomic():
        job_transition(
            job_id=job.pk,
            to=JobStatus.CREATED,
            actions=actions,
            expected=expected,
            fields={
                "claim_token": None,
                "worker": None,
                "node": None,
                "start_time": None,
                "end_time": None,
                "heartbeat": None,
                "error_reason": None,
                "progress": 0.0,
                "progress_data": {},
            },
        )
        job_outputs_remove(job=job)
        job_enqueue(job=job)
    job.refresh_from_db()
    return job
