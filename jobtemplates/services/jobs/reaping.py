"""The reaper (run by beat): recover jobs whose worker died and jobs whose message was lost.

The database is the source of truth; we never rely on broker redelivery (Redis returns an unacked
message only after its visibility timeout, an hour by default, and the embedded filesystem broker
never does). A redelivered or duplicated message is harmless: the atomic claim refuses it.

One pass runs at a time across every beat and process (``config.db_locks.exclusive``): a pass that
finds another one running skips its turn, says so in the log and in its report (``skipped``). Each
pass also prunes expired create-job idempotency keys.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from config.db_locks import exclusive
from jobtemplates.models import FINAL_STATUSES, Job, JobStatus, TemplateKind
from jobtemplates.services.jobs.enqueueing import job_enqueue, job_route, send_run_job
from jobtemplates.services.jobs.idempotency import idempotency_keys_prune
from jobtemplates.services.jobs.metajobs import meta_job_advance
from jobtemplates.services.jobs.outputs import job_outputs_remove
from jobtemplates.services.jobs.transitions import IllegalTransition, StaleClaim, job_transition
from runners.routing import CELERY, NODE, NONE

logger = logging.getLogger(__name__)


@dataclass
class ReapReport:
    requeued: list[int] = field(default_factory=list)
    errored: list[int] = field(default_factory=list)
    resent: list[int] = field(default_factory=list)
    advanced: list[int] = field(default_factory=list)
    released: list[int] = field(default_factory=list)
    pruned_keys: int = 0
    skipped: bool = False  # another pass was running: this one did nothing


REAPER_LOCK = "jobtemplates.reaper"


def jobs_reap() -> ReapReport:
    """One pass: stale running jobs are re-queued (or errored past the attempt limit), created jobs
    whose message seems lost are sent again (with backoff), and unfinished meta-jobs are advanced.
    Skipped (``skipped`` true) while another pass runs."""
    with exclusive(REAPER_LOCK) as acquired:
        if not acquired:
            logger.info("reaper: another pass is running; skipping this one")
            return ReapReport(skipped=True)
        return _reap_pass()


def _reap_pass() -> ReapReport:
    report = ReapReport()
    now = timezone.now()
    stale_before = now - timedelta(seconds=settings.JOB_HEARTBEAT_STALE_SECONDS)
    workable = Job.objects.filter(deletion_time__isnull=True, template__kind=TemplateKind.WORKABLE, runner=CELERY)
    # Soft-deleted or not, a running job whose worker died must not stay "running" for ever.
    stale = Job.objects.filter(
        template__kind=TemplateKind.WORKABLE, runner=CELERY, status=JobStatus.RUNNING, heartbeat__lt=stale_before
    )
    for job in stale.only("pk", "attempts", "claim_token", "sends", "deletion_time", "queue"):
        _recover(job, report)
    # A node that went silent lets go of its job (started or only acquired): another node takes it.
    node_stale_before = now - timedelta(seconds=settings.NODE_STALE_SECONDS)
    silent = Job.objects.filter(
        runner=NODE, node__isnull=False, status__in=(JobStatus.CREATED, JobStatus.RUNNING)
    ).filter(Q(node__last_seen__lt=node_stale_before) | Q(node__last_seen__isnull=True))
    for job in silent.only("pk", "attempts", "claim_token", "status", "node_id", "deletion_time"):
        _release_from_node(job, report)
    # A job queued with no runner (queue_anyway) is routed again: the settings may name one now.
    for job in Job.objects.filter(runner=NONE, status=JobStatus.CREATED, deletion_time__isnull=True).select_related(
        "template"
    ):
        runner, queue = job_route(job.template)
        if runner != NONE and Job.objects.filter(pk=job.pk, runner=NONE).update(runner=runner, queue=queue):
            job.runner, job.queue = runner, queue
            if job_enqueue(job=job):
                report.resent.append(job.pk)
    # A created job's message is presumed lost once it has waited long enough; the wait doubles with
    # every resend, so a long but healthy queue collects few duplicates.
    resend_after = timedelta(seconds=settings.JOB_RESEND_AFTER_SECONDS)
    waiting = workable.filter(status=JobStatus.CREATED).filter(
        Q(enqueued_time__isnull=True) | Q(enqueued_time__lt=now - resend_after)
    )
    for job in waiting.only("pk", "enqueued_time", "sends", "queue"):
        if job.enqueued_time is not None and now - job.enqueued_time < resend_after * (2 ** max(0, job.sends - 1)):
            continue
        # Only if nobody sent it since we looked (a claim, a cancel, another sender).
        if not Job.objects.filter(pk=job.pk, status=JobStatus.CREATED, enqueued_time=job.enqueued_time).update(
            enqueued_time=now, sends=F("sends") + 1
        ):
            continue
        if send_run_job(job.pk, job.queue):
            report.resent.append(job.pk)
    for parent_id in (
        Job.objects.filter(template__kind=TemplateKind.META, deletion_time__isnull=True)
        .exclude(status__in=FINAL_STATUSES)
        .values_list("pk", flat=True)
    ):
        try:
            meta_job_advance(parent_id=parent_id)
        except Exception:  # one meta-job that cannot advance must not hold up the others (nor every next pass)
            logger.exception("reaper: meta-job %s cannot advance", parent_id)
            continue
        report.advanced.append(parent_id)
    report.pruned_keys = idempotency_keys_prune()
    if report.requeued or report.errored or report.resent or report.released:
        logger.warning(
            "reaper: requeued %s, errored %s, resent %s, released %s",
            report.requeued,
            report.errored,
            report.resent,
            report.released,
        )
    return report


def _recover(job: Job, report: ReapReport) -> None:
    try:
        if job.attempts >= settings.JOB_MAX_ATTEMPTS or job.deletion_time is not None:
            reason = (
                "its worker stopped responding and the job is deleted"
                if job.deletion_time is not None
                else f"its worker stopped responding {job.attempts} times; giving up"
            )
            job_transition(
                job_id=job.pk,
                to=JobStatus.ERRORED,
                actions=("on_error",),
                token=job.claim_token,
                fields={"end_time": timezone.now(), "error_reason": reason},
            )
            report.errored.append(job.pk)
            return
        job_transition(
            job_id=job.pk,
            to=JobStatus.CREATED,
            actions=("on_release", "on_reset"),
            token=job.claim_token,
            fields={
                "claim_token": None,
                "worker": None,
                "heartbeat": None,
                "enqueued_time": timezone.now(),
                "sends": job.sends + 1,
            },
            transition_data={"reason": "worker lost", "attempt": job.attempts},
        )
    except (IllegalTransition, StaleClaim):
        return  # it moved on meanwhile (finished, cancelled, or aborted and claimed again)
    send_run_job(job.pk, job.queue)
    report.requeued.append(job.pk)


def _release_from_node(job: Job, report: ReapReport) -> None:
    """A silent node's job: back to ``created`` with no node (or errored past the attempt limit)."""
    reason = "its node stopped responding"
    try:
        if job.status == JobStatus.RUNNING and (job.attempts >= settings.JOB_MAX_ATTEMPTS or job.deletion_time):
            job_transition(
                job_id=job.pk,
                to=JobStatus.ERRORED,
                actions=("on_error",),
                token=job.claim_token,
                fields={"end_time": timezone.now(), "error_reason": f"{reason} {job.attempts} times; giving up"},
            )
            report.errored.append(job.pk)
            return
        if job.status == JobStatus.RUNNING:
            job_transition(
                job_id=job.pk,
                to=JobStatus.CREATED,
                actions=("on_release", "on_reset"),
                token=job.claim_token,
                fields={"claim_token": None, "node": None, "heartbeat": None, "start_time": None, "progress": 0.0},
                transition_data={"reason": reason, "node": job.node_id, "attempt": job.attempts},
            )
            job_outputs_remove(job=job)
        elif not Job.objects.filter(pk=job.pk, status=JobStatus.CREATED, claim_token=job.claim_token).update(
            node=None, claim_token=None, heartbeat=None
        ):
            return
    except (IllegalTransition, StaleClaim):
        return
    logger.warning("reaper: released job %s from silent node %s", job.pk, job.node_id)
    report.released.append(job.pk)
