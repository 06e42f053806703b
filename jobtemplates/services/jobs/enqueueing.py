"""Sending a job to the workers: after commit, by task name, to its queue, with the job id only.

A failed send is logged, not raised: the job is safely in the database and the reaper re-enqueues
created jobs whose message never arrived. The broker may lose messages; the database never loses jobs.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from config.celery import app as celery_app
from jobtemplates.models import Job, JobTemplate
from runners.routing import CELERY, queue_for, runner_for

logger = logging.getLogger(__name__)

RUN_JOB_TASK = "executors.run_job"


def job_route(template: JobTemplate) -> tuple[str, str]:
    """(runner, queue) of a template's jobs: a meta-job is orchestrated here (runner ``meta``); a
    workable one goes to whoever its executor module names (runners.routing)."""
    if template.is_meta:
        return "meta", ""
    runner = runner_for(template.executor_class)
    if runner != CELERY:
        return runner, ""
    return runner, queue_for(queue=template.queue, min_hardware_generation=template.min_hardware_generation)


def job_enqueue(*, job: Job) -> bool:
    """Mark a Celery-run job as sent now and send its task to its queue once the surrounding
    transaction commits. A job run by nodes (or by nothing yet) is not sent: it waits in the table
    for a node to acquire it. Returns whether a task will be sent."""
    if job.runner != CELERY:
        return False
    Job.objects.filter(pk=job.pk).update(enqueued_time=timezone.now(), sends=F("sends") + 1)
    job_send_after_commit(job=job)
    return True


def job_sent_on_insert(*, job: Job) -> bool:
    """``job_enqueue`` for a job not inserted yet: mark it sent in the row it is inserted with (no UPDATE
    after the INSERT); the caller then inserts it and calls ``job_send_after_commit`` in the same
    transaction. Returns whether a task will be sent."""
    if job.runner != CELERY:
        return False
    job.enqueued_time = timezone.now()
    job.sends = 1
    return True


def job_send_after_commit(*, job: Job) -> None:
    """Send a saved job's task once the surrounding transaction commits (never if it rolls back)."""
    job_id, queue = job.pk, job.queue
    transaction.on_commit(lambda: send_run_job(job_id, queue))


def send_run_job(job_id: int, queue: str = "") -> bool:
    """Send a job's task to ``queue`` (Celery routing; "" is the default queue)."""
    try:
        celery_app.send_task(RUN_JOB_TASK, kwargs={"job_id": job_id}, queue=queue or None)
    except Exception:  # broker down or misconfigured: the reaper will send it again
        logger.exception("could not enqueue job %s; the reaper will retry", job_id)
        return False
    return True
