"""End-to-end fixtures: a real Celery worker on the test database, the catalogue, built-in templates."""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.test.utils import override_settings

from config.celery import app as celery_app
from contracts.models import Dataset, Domain, Licence
from contracts.services.catalogue_seed import catalogue_seed
from jobtemplates.models import Job, JobTemplate
from jobtemplates.services.templates import template_import
from tests.workers import FAST_ENV, WorkerProcess, wait_until

REPO = Path(__file__).resolve().parents[2]
BUILTIN = REPO / "templates" / "builtin"
FINAL = {"finished", "errored", "cancelled"}


@pytest.fixture(scope="session")
def worker_queue() -> str:
    """A queue of this test session's own, for the test process and its workers alike."""
    queue = f"test-{uuid.uuid4().hex[:10]}"
    previous = celery_app.conf.task_default_queue
    celery_app.conf.task_default_queue = queue
    yield queue
    celery_app.conf.task_default_queue = previous


@pytest.fixture(scope="session")
def shared_media(tmp_path_factory) -> Path:
    """One media folder for the test process and its workers (outputs written there are downloadable)."""
    media = tmp_path_factory.mktemp("media")
    # override_settings (not setattr) so that the default storage, which caches its location, follows.
    override = override_settings(MEDIA_ROOT=media)
    override.enable()
    yield media
    override.disable()


@pytest.fixture(scope="session")
def fast_clocks():
    """The worker's fast heartbeat/grace/staleness settings, in this process too (for the reaper)."""
    previous = {name: getattr(settings, name) for name in FAST_ENV}
    for name, value in FAST_ENV.items():
        setattr(settings, name, float(value))
    yield
    for name, value in previous.items():
        setattr(settings, name, value)


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker, worker_queue, shared_media, fast_clocks, tmp_path_factory):
    """One worker process (prefork, 2 children) for a module's tests."""
    process = WorkerProcess(queue=worker_queue, log_dir=tmp_path_factory.mktemp("workers"))
    yield process
    process.stop()


@pytest.fixture
def start_worker(django_db_setup, worker_queue, shared_media, fast_clocks, tmp_path_factory):
    """Start workers inside a test, on a queue of the test's own (no other worker takes its jobs);
    all are stopped at its end."""
    queue = f"{worker_queue}-{uuid.uuid4().hex[:6]}"
    celery_app.conf.task_default_queue = queue
    started: list[WorkerProcess] = []

    def start(**kwargs) -> WorkerProcess:
        process = WorkerProcess(queue=queue, log_dir=tmp_path_factory.mktemp("workers"), **kwargs)
        started.append(process)
        return process

    yield start
    celery_app.conf.task_default_queue = worker_queue
    for process in started:
        process.stop()


def import_builtin(name: str, admin_user, **changes) -> JobTemplate:
    body = json.loads((BUILTIN / f"{name}.json").read_text())
    body.update(changes)
    return template_import(data=copy.deepcopy(body), creator=admin_user).template


@pytest.fixture
def stage(transactional_db, admin_user):
    """Committed data a worker can see: the catalogue, the built-in templates and a public dataset."""
    catalogue_seed()
    templates = {
        name: import_builtin(name, admin_user) for name in ("noop", "fail", "stubborn", "sleep_train", "sleep_predict")
    }
    dataset = Dataset.objects.create(
        name="digits",
        domain=Domain.objects.get(name="ic"),
        licence=Licence.objects.get(name="Apache 2.0"),
        is_public=True,
        creator=admin_user,
    )
    return {"templates": templates, "dataset": dataset, "admin": admin_user}


def wait_for_status(job_id: int, statuses, timeout: float = 30.0) -> Job:
    statuses = {statuses} if isinstance(statuses, str) else set(statuses)
    wait_until(
        lambda: Job.objects.filter(pk=job_id, status__in=statuses).exists(),
        timeout=timeout,
        message=lambda: (
            f"job {job_id} to be {'/'.join(sorted(statuses))} (it is "
            f"{Job.objects.filter(pk=job_id).values_list('status', flat=True).first()})"
        ),
    )
    return Job.objects.get(pk=job_id)


def dataset_input(dataset) -> dict:
    return {"value": dataset.pk, "type": "PK<Dataset<Domain<'Image Classification'>>>"}
