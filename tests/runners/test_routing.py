"""Routing by capability with real workers: jobs go to the Celery queue their template names, a worker
never claims a job it cannot run (the job waits, and runs once a capable worker is there), and node
jobs are never sent to Celery."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from config.celery import app as celery_app
from contracts.models import Domain, Licence
from contracts.services.catalogue_seed import catalogue_seed
from jobtemplates.models import Job, JobTemplate
from jobtemplates.services.jobs import job_create
from jobtemplates.services.jobs.reaping import jobs_reap
from jobtemplates.services.templates import template_import
from runners.models import Worker
from tests.e2e import wait_for_status
from tests.executors.conftest import dataset_input
from tests.workers import WorkerProcess, wait_until
from workspaces.models import Dataset

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

REPO = Path(__file__).resolve().parents[2]


def noop_template(admin, name: str, queue: str | None = None):
    body = json.loads((REPO / "templates" / "builtin" / "noop.json").read_text())
    body["name"] = name
    template = template_import(data=copy.deepcopy(body), creator=admin).template
    if queue:  # the queue a template names (import support for it is still to come)
        JobTemplate.objects.filter(pk=template.pk).update(queue=queue)
        template.refresh_from_db()
    return template


@pytest.fixture
def queues(worker_queue):
    """Two queues of this test's own: the default one (a) and a named one (b)."""
    default, named = f"{worker_queue}-a", f"{worker_queue}-b"
    celery_app.conf.task_default_queue = default
    yield default, named
    celery_app.conf.task_default_queue = worker_queue


@pytest.fixture
def workers(django_db_setup, shared_media, fast_clocks, tmp_path_factory):
    started: list[WorkerProcess] = []

    def start(queue: str, **kwargs) -> WorkerProcess:
        process = WorkerProcess(queue=queue, log_dir=tmp_path_factory.mktemp("workers"), **kwargs)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


def test_jobs_go_to_the_queue_their_template_names(admin_user, queues, workers):
    catalogue_seed()
    default, named = queues
    on_default, on_named = noop_template(admin_user, "noop"), noop_template(admin_user, "noop_b", queue=named)
    a, b = workers(default, name="cpu"), workers(named, name="special")
    jobs = [
        job_create(template=template, body={"input_values": {}}, creator=admin_user)
        for template in (on_default, on_named, on_default, on_named)
    ]
    assert [job.queue for job in jobs] == ["", named, "", named]
    ran_on = [wait_for_status(job.pk, {"finished", "errored"}) for job in jobs]
    assert [job.status for job in ran_on] == ["finished"] * 4, [job.error_reason for job in ran_on]
    assert [job.worker for job in ran_on] == [a.hostname, b.hostname, a.hostname, b.hostname]


def test_a_worker_never_claims_a_job_it_cannot_run(admin_user, queues, workers):
    catalogue_seed()
    _, named = queues
    template = noop_template(admin_user, "noop_b", queue=named)
    # This worker consumes the queue but may load only the sklearn executors: it cannot run NoOp.
    narrow = workers(named, name="narrow", extra_env={"EXECUTOR_ALLOWED_MODULES": "executors.builtin.sklearn"})
    assert "executors.builtin.testing.NoOp" not in Worker.objects.get(name=narrow.hostname).executor_classes
    job = job_create(template=template, body={"input_values": {}, "queue_anyway": True}, creator=admin_user)
    wait_until(lambda: "not runnable here" in narrow.log.read_text(errors="replace"), timeout=30, interval=0.1)
    job.refresh_from_db()
    assert job.status == "created" and job.worker is None and job.attempts == 0
    narrow.stop()

    capable = workers(named, name="capable")
    # The reaper sends a created job again once its message seems lost (fast clocks: seconds).
    wait_until(lambda: bool(jobs_reap().resent) or Job.objects.get(pk=job.pk).status != "created", timeout=30)
    job = wait_for_status(job.pk, {"finished", "errored"})
    assert job.status == "finished" and job.worker == capable.hostname and job.attempts == 1


def test_node_jobs_are_never_sent_to_celery(admin_user, queues, workers):
    catalogue_seed()
    default, _ = queues
    workers(default, name="cpu")
    body = json.loads(
        (REPO / "templates" / "ufdl" / "image-classification__0010_dogs_dummy_image_class_train.json").read_text()
    )
    template = template_import(data=body, creator=admin_user).template
    dataset = Dataset.objects.create(
        name="dogs",
        domain=Domain.objects.get(name="ic"),
        licence=Licence.objects.get(name="Apache 2.0"),
        is_public=True,
        creator=admin_user,
    )
    job = job_create(
        template=template,
        body={
            "input_values": {"dataset": dataset_input(dataset)},
            "parameter_values": {"frontend_metadata": {"value": {}, "type": "JSON"}},
            "queue_anyway": True,
        },
        creator=admin_user,
    )
    job.refresh_from_db()
    assert (job.runner, job.status, job.sends, job.enqueued_time) == ("node", "created", 0, None)
    report = jobs_reap()
    job.refresh_from_db()
    assert job.pk not in report.resent and job.sends == 0 and job.status == "created"
