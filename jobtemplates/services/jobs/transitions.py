"""The one guarded way a job's status changes: lock the row, check the move, write, notify.

Nobody else writes ``Job.status``. A worker's writes carry the claim token it got when it claimed
the job, so a worker presumed dead (and replaced by the reaper) cannot overwrite its successor.

The worker's own moves are single statements that check as they write (``UPDATE … WHERE status …
AND claim_token … RETURNING``): the claim (created → running), heartbeats and progress, and the end
of the run (running → finished or errored, with the run's outputs and log in the same transaction,
:func:`job_finish`). Nothing is re-read: the notifications get the job from the returned row.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.db import models, transaction
from django.db.models import F
from django.utils import timezone

from config.errors import Conflict, NotFound, Problem
from jobtemplates.models import FINAL_STATUSES, Job, JobOutput, JobStatus
from jobtemplates.services.jobs.outputs import job_outputs_insert
from jobtemplates.services.jobs.returning import update_returning
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


# What a notification reads of a job (notifications/rendering.py, dispatch.py): returned by every
# worker write that notifies, so the notification needs no query of the job.
NOTIFY_FIELDS = (
    "template",
    "parent",
    "creator",
    "description",
    "status",
    "progress",
    "progress_data",
    "is_cancelled",
    "node",
    "error_reason",
    "notification_override",
    "attempts",
    "start_time",
    "end_time",
)
# What a run needs besides: its values, and the rest of its own row as the claim wrote it.
CLAIM_FIELDS = (
    *NOTIFY_FIELDS,
    "child_name",
    "project",
    "runner",
    "queue",
    "worker",
    "heartbeat",
    "claim_token",
    "deletion_time",
    "input_values",
    "resolved_parameters",
)


@dataclass(frozen=True)
class Claim:
    """A worker's hold on a running job (``job``: the row as the claim returned it, when it did)."""

    job_id: int
    token: uuid.UUID | None  # None: a node's run (a node holds its job by the node, not by a token)
    attempt: int
    job: Job | None = field(default=None, compare=False, repr=False)


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
        job.save(update_fields=["status", *(fields or {})])
        notify_after_commit(job, actions, transition_data)
        if job.parent_id is not None and to in FINAL_STATUSES:
            parent_id = job.parent_id
            transaction.on_commit(lambda: _advance_parent(parent_id))
    return job


def job_claim(*, job_id: int, worker: str, known: Mapping[str, models.Model] | None = None) -> Claim | None:
    """Claim a created job for ``worker`` atomically; None if it is not claimable (already running,
    finished, cancelled, deleted: a duplicate or stale message). One statement: the UPDATE returns the
    row the run needs (``Claim.job``, with ``known`` related rows — its template, its creator — set on
    it, so its notifications read no more)."""
    token = uuid.uuid4()
    now = timezone.now()
    claimed = update_returning(
        Job.objects.filter(pk=job_id, status=JobStatus.CREATED, deletion_time__isnull=True),
        {
            "status": JobStatus.RUNNING,
            "claim_token": token,
            "worker": worker,
            "start_time": now,
            "heartbeat": now,
            "end_time": None,
            "error_reason": None,
            "attempts": F("attempts") + 1,
        },
        CLAIM_FIELDS,
    )
    if not claimed:
        return None
    job = claimed[0]
    for name, related in (known or {}).items():
        _foreign_key(name).set_cached_value(job, related)
    notify_after_commit(job, ("on_acquire", "on_start"), {"worker": worker, "attempt": job.attempts})
    if job.parent_id is not None:
        parent_id = job.parent_id
        transaction.on_commit(lambda: parent_started(parent_id))
    return Claim(job_id=job_id, token=token, attempt=job.attempts, job=job)


def job_heartbeat(*, claim: Claim) -> str | None:
    """Record that the claim's worker is alive; returns the job's status (None if the claim is stale)."""
    rows = update_returning(
        Job.objects.filter(pk=claim.job_id, claim_token=claim.token), {"heartbeat": timezone.now()}, ("status",)
    )
    return rows[0].status if rows else None


def job_progress(*, claim: Claim, progress: float, data: dict[str, Any], notify: bool) -> bool:
    """Write progress for a running job; fires ``on_progress`` when ``notify``. False if not running.
    One statement (it returns what the parent's progress and the notification need)."""
    progress = min(1.0, max(0.0, float(progress)))
    rows = update_returning(
        Job.objects.filter(pk=claim.job_id, claim_token=claim.token, status=JobStatus.RUNNING),
        {"progress": progress, "progress_data": data, "heartbeat": timezone.now()},
        NOTIFY_FIELDS if notify else ("parent",),
    )
    if not rows:
        return False
    job = rows[0]
    if job.parent_id is not None:
        # A meta-job's progress follows its children's as they run, not only as they finish (at the
        # watchdog's pace: progress is written once per heartbeat at most).
        _parent_following().progress(parent_id=job.parent_id)
    if notify:
        _copy_known(claim, job)
        job_transition_notify(job=job, actions=("on_progress",), transition_data={"progress": progress, **data})
    return True


def job_finish(
    *,
    claim: Claim,
    to: str,
    actions: Iterable[str],
    fields: dict[str, Any],
    outputs: Iterable[JobOutput] = (),
    replace: bool = False,
    transition_data: dict[str, Any] | None = None,
    progress_notice: dict[str, Any] | None = None,
) -> Job | None:
    """End the claim's run: running → ``to`` (finished or errored) with ``fields``, and its ``outputs``
    (files already stored; the log among them) inserted in the same transaction — all or nothing, and
    only while the claim holds the job. None (nothing written) when the job is no longer running under
    this claim (cancelled, or claimed again). ``replace``: rows of the same name and type may exist
    from an earlier attempt (they are replaced). ``progress_notice``: the run's last progress report,
    written with the end (``fields``), to notify as ``on_progress`` before the end's own actions."""
    if to not in LEGAL_MOVES[JobStatus.RUNNING]:
        raise IllegalTransition(f"A running job cannot become {to}.")
    outputs = list(outputs)
    with transaction.atomic():
        rows = update_returning(
            Job.objects.filter(pk=claim.job_id, claim_token=claim.token, status=JobStatus.RUNNING),
            {"status": to, **fields},
            NOTIFY_FIELDS,
        )
        if not rows:
            return None
        job = rows[0]
        job_outputs_insert(job_id=job.pk, outputs=outputs, replace=replace)
        _copy_known(claim, job)
        if progress_notice is not None:
            notify_after_commit(job, ("on_progress",), progress_notice)
        notify_after_commit(job, actions, transition_data)
        if job.parent_id is not None and to in FINAL_STATUSES:
            parent_id = job.parent_id
            transaction.on_commit(lambda: _advance_parent(parent_id))
    return job


def job_outputs_keep(*, claim: Claim, outputs: Iterable[JobOutput], replace: bool = False) -> str | None:
    """Insert a run's ``outputs`` (its log…) whatever the job's status, as long as the claim still holds
    it: a run stopped by a cancel keeps what it wrote, a run whose job was claimed again does not (its
    successor's are the job's). Returns the job's status (None: the claim is stale, nothing kept)."""
    outputs = list(outputs)
    with transaction.atomic():
        # A write, not a read: it takes the row's lock (SQLite: the database's), so no claim can move
        # in between.
        rows = update_returning(
            Job.objects.filter(pk=claim.job_id, claim_token=claim.token), {"heartbeat": F("heartbeat")}, ("status",)
        )
        if not rows:
            return None
        job_outputs_insert(job_id=claim.job_id, outputs=outputs, replace=replace)
    return rows[0].status


def _copy_known(claim: Claim, job: Job) -> None:
    """Give ``job`` the related rows its claim was given (its template, its creator)."""
    if claim.job is None:
        return
    for name in ("template", "creator"):
        relation = _foreign_key(name)
        if relation.is_cached(claim.job) and getattr(claim.job, relation.attname) == getattr(job, relation.attname):
            relation.set_cached_value(job, relation.get_cached_value(claim.job))


def _foreign_key(name: str) -> models.ForeignKey:
    field = Job._meta.get_field(name)
    if not isinstance(field, models.ForeignKey):
        raise TypeError(f"Job.{name} is not a foreign key")
    return field


def notify_after_commit(job: Job, actions: Iterable[str], transition_data: dict[str, Any] | None) -> None:
    actions = tuple(actions)
    if actions:
        transaction.on_commit(
            lambda: job_transition_notify(job=job, actions=actions, transition_data=transition_data or {})
        )


class _ParentHook(Protocol):
    def __call__(self, *, parent_id: int) -> object: ...


@dataclass(frozen=True)
class ParentFollowing:
    """How a meta-job follows its children: what runs when one starts, reports progress or ends.

    Meta-job orchestration (``metajobs``) moves jobs through this module, so this module cannot import
    it: the services package installs its functions here (``parent_following_install``) as it loads,
    and every import of this module loads the package first.
    """

    child_started: _ParentHook
    progress: _ParentHook
    advance: _ParentHook


_following: ParentFollowing | None = None


def parent_following_install(following: ParentFollowing) -> None:
    """Make ``following`` what every child's moves tell its meta-job (``jobtemplates.services.jobs`` calls it)."""
    global _following
    _following = following


def _parent_following() -> ParentFollowing:
    if _following is None:
        raise RuntimeError("no meta-job orchestration installed: jobtemplates.services.jobs installs it on import")
    return _following


def _advance_parent(parent_id: int) -> None:
    # A failure is logged, not raised: the transition is committed, and the reaper advances meta-jobs
    # left behind.
    try:
        _parent_following().advance(parent_id=parent_id)
    except Exception:
        logger.exception("advancing meta-job %s failed; the reaper will retry", parent_id)


def parent_started(parent_id: int) -> None:
    try:
        _parent_following().child_started(parent_id=parent_id)
    except Exception:
        logger.exception("marking meta-job %s running failed", parent_id)
