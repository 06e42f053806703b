"""Sending a job to the workers: after commit, by task name, with the job id only.

A failed send is logged, not raised: the job is safely in the database and the reaper re-enqueues
created jobs whose message never arrived. The broker may lose messages; the database never loses jobs.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from config.celery import app as celery_app
from jobtemplates.models import Job

logger = logging.getLogger(__name__)

RUN_JOB_TASK = "executors.run_job"


def job_enqueue(*, job_id: int) -> None:
    """Mark the job as sent now and send its task once the surrounding transaction commits."""
    Job.objects.filter(pk=job_id).update(enqueued_time=timezone.now(), sends=F("sends") + 1)
    transaction.on_commit(lambda: send_run_job(job_id))


def send_run_job(job_id: int) -> bool:
    try:
        celery_app.send_task(RUN_JOB_TASK, kwargs={"job_id": job_id})
    except Exception:  # broker down or misconfigured: the reaper will send it again
        logger.exception("could not enqueue job %s; the reaper will retry", job_id)
        return False
    return True
