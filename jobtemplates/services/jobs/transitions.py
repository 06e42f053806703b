"""The one guarded way a job's status changes: lock the row, check the move, write, notify.

Nobody else writes ``Job.status``. A worker's writes carry the claim token it got when it claimed
the job, so a worker presumed dead (and replaced by the reaper) cannot overwrite its successor.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from config.errors import Conflict, NotFound, Problem
from jobtemplates.models import FINAL_STATUSES, Job, JobStatus
from notifications.dispatch import job_transition_notify

logger = logging.getLogger(__name__)

# status → statuses it may move to
LEGAL_MOVES: dict[str, frozenset[str]] = {
    JobStatus.CREATED: frozenset({JobStatus.RUNNING, JobStatus.CANCELLED, JobStatus.ERRORED}),
    JobStatus.RUNNING: frozenset({JobStatus.FINISHED, JobStatus.ERRORED, JobStatus.CANCELLED, JobStatus.CREATED}),
    JobStatus.ERRORED: frozenset({JobStatus.CREATED}),
    JobStatus.FINISHED: frozenset(),
    JobStatus.CANCELLED: frozenset(),
}


class IllegalTransition(Conflict):
    code = "illegal_transition"


class StaleClaim(Conflict):
    """The writer's claim was superseded (the job was re-queued and claimed again)."""

    code = "stale_claim"


@dataclass(frozen=True)
class Claim:
    """A worker's hold on a running job."""

    job_id: int
    token: uuid.UUID
    attempt: int


def job_transition(
    *,
    job_id: int,
    to: str,
    actions: Iterable[str],
    token: uuid.UUID | None = None,
    fields: dict[str, Any] | None = None,
    transition_data: dict[str, Any] | None = None,
    expected: Iterable[str] | None = None,
) -> Job:
    """Move a job to ``to``: lock, check (legal move, ``expected`` statuses, claim ``token``), write
    ``fields``, and fire the notifications of ``actions`` (``on_finish``…) after commit."""
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None:
            raise NotFound(f"No job {job_id}.")
        if token is not None and job.claim_token != token:
            raise StaleClaim(
                f"Job {job_id} was claimed again since; this worker's writes are void.", extra={"status": job.status}
            )
        if to not in LEGAL_MOVES[job.status] or (expected is not None and job.status not in set(expected)):
            raise IllegalTransition(
                f"A {job.status} job cannot become {to}.",
                problems=[Problem(path="status", code="illegal_transition", message=f"{job.status} → {to}")],
                extra={"status": job.status},
            )
        job.status = to
        for name, value in (fields or {}).items():
            setattr(job, name, value)
        job.save()
        notify_after_commit(job, actions, transition_data)
        if job.parent_id is not None and to in FINAL_STATUSES:
            parent_id = job.parent_id
            transaction.on_commit(lambda: _advance_parent(parent_id))
    return job


def job_claim(*, job_id: int, worker: str) -> Claim | None:
    """Claim a created job for ``worker`` atomically; None if it is not claimable (already running,
    finished, cancelled, deleted: a duplicate or stale message)."""
    token = uuid.uuid4()
    now = timezone.now()
    with transaction.atomic():
        claimed = Job.objects.filter(pk=job_id, status=JobStatus.CREATED, deletion_time__isnull=True).update(
            status=JobStatus.RUNNING,
            claim_token=token,
            worker=worker,
            start_time=now,
            heartbeat=now,
            end_time=None,
            error_reason=None,
            attempts=F("attempts") + 1,
        )
        if not claimed:
            return None
        job = Job.objects.get(pk=job_id)
        notify_after_commit(job, ("on_acquire", "on_start"), {"worker": worker, "attempt": job.attempts})
        if job.parent_id is not None:
            parent_id = job.parent_id
            transaction.on_commit(lambda: parent_started(parent_id))
    return Claim(job_id=job_id, token=token, attempt=job.attempts)


def job_heartbeat(*, claim: Claim) -> str | None:
    """Record that the claim's worker is alive; returns the job's status (None if the claim is stale)."""
    updated = Job.objects.filter(pk=claim.job_id, claim_token=claim.token).update(heartbeat=timezone.now())
    if not updated:
        return None
    return Job.objects.filter(pk=claim.job_id).values_list("status", flat=True).first()


def job_progress(*, claim: Claim, progress: float, data: dict[str, Any], notify: bool) -> bool:
    """Write progress for a running job; fires ``on_progress`` when ``notify``. False if not running."""
    progress = min(1.0, max(0.0, float(progress)))
    now = timezone.now()
    updated = Job.objects.filter(pk=claim.job_id, claim_token=claim.token, status=JobStatus.RUNNING).update(
        progress=progress, progress_data=data, heartbeat=now
    )
    if not updated:
        return False
    parent_id = Job.objects.filter(pk=claim.job_id).values_list("parent_id", flat=True).first()
    if parent_id is not None:
        # A meta-job's progress follows its children's as they run, not only as they finish.
        from jobtemplates.services.jobs.metajobs import meta_job_progress

        meta_job_progress(parent_id=parent_id)
    if notify:
        job = Job.objects.get(pk=claim.job_id)
        job_transition_notify(job=job, actions=("on_progress",), transition_data={"progress": progress, **data})
    return True


def notify_after_commit(job: Job, actions: Iterable[str], transition_data: dict[str, Any] | None) -> None:
    actions = tuple(actions)
    if actions:
        transaction.on_commit(
            lambda: job_transition_notify(job=job, actions=actions, transition_data=transition_data or {})
        )


def _advance_parent(parent_id: int) -> None:
    # Imported here: meta-job orchestration builds on this module. A failure is logged, not raised:
    # the transition is committed, and the reaper advances meta-jobs left behind.
    from jobtemplates.services.jobs.metajobs import meta_job_advance

    try:
        meta_job_advance(parent_id=parent_id)
    except Exception:
        logger.exception("advancing meta-job %s failed; the reaper will retry", parent_id)


def parent_started(parent_id: int) -> None:
    from jobtemplates.services.jobs.metajobs import meta_job_child_started

    try:
        meta_job_child_started(parent_id=parent_id)
    except Exception:
        logger.exception("marking meta-job %s running failed", parent_id)
