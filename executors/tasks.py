"""Celery tasks: thin adapters that load by id, call one function, and declare their policy."""

from __future__ import annotations

import socket

from celery import shared_task
from django.conf import settings

from executors.runner import run_job
from jobtemplates.services.jobs.reaping import jobs_reap


@shared_task(
    name="executors.run_job",
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    ignore_result=True,
    soft_time_limit=settings.JOB_SOFT_TIME_LIMIT_SECONDS,
    time_limit=settings.JOB_SOFT_TIME_LIMIT_SECONDS + 120,
)
def run_job_task(self, job_id: int) -> str:
    """Run one job. Safe to receive twice: only the first delivery can claim the job."""
    worker = self.request.hostname or socket.gethostname()
    return run_job(job_id=job_id, worker=worker)


@shared_task(name="executors.reap_jobs", acks_late=True, ignore_result=True, expires=60)
def reap_jobs_task() -> dict:
    """One reaper pass; ``skipped`` when another pass (another beat, a manual call) was running."""
    report = jobs_reap()
    return {
        "requeued": report.requeued,
        "errored": report.errored,
        "resent": report.resent,
        "released": report.released,
        "pruned_keys": report.pruned_keys,
        "skipped": report.skipped,
    }
