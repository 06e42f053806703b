"""End-to-end fixtures (a pytest plugin, registered in tests/conftest.py): real Celery workers on the test
database, on a queue of the test session's own, sharing a media folder with the test process, with fast
clocks; and waiting for a job's status. Any test package may ask for these fixtures by name.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from django.conf import settings
from django.test.utils import override_settings

from config.celery import app as celery_app
from jobtemplates.models import Job
from tests.workers import FAST_ENV, WorkerProcess, wait_until


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
    with django_db_blocker.unblock():  # it waits until the registry (the test database) knows it
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


def wait_for_status(job_id: int, statuses, timeout: float = 30.0) -> Job:
    """Wait until job ``job_id`` has one of ``statuses`` (a status or several); return it."""
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
