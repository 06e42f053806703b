"""A real worker keeps its PostgreSQL connection from job to job (settings.WORKER_DB_CONN_MAX_AGE, Celery's
CELERY_DB_REUSE_MAX), recovers when that connection's backend is killed between jobs (CONN_HEALTH_CHECKS,
close_old_connections before each task), and closes it after every task when told to (age 0).

The worker's backends are read from pg_stat_activity: every client backend on the test database but this
test's own. The worker's main process closes its connection after each registry report; its registry
heartbeat is slowed down so that it opens none while a test looks.
"""

from __future__ import annotations

import pytest
from django.db import connection

from jobtemplates.services.jobs import job_create
from tests.e2e import wait_for_status
from tests.workers import wait_until

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL backends (pg_stat_activity)"),
]

QUIET = {"WORKER_HEARTBEAT_SECONDS": "3600"}


def worker_backends() -> list[dict]:
    """The other client backends on the test database: pid, start, state, when the state last changed."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, backend_start, state, state_change FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
        )
        return [dict(zip(("pid", "start", "state", "state_change"), row, strict=True)) for row in cursor.fetchall()]


def one_idle_backend() -> dict:
    """Wait until the worker holds exactly one connection and it is idle (its task has ended); return it."""
    found: list[dict] = []

    def settled() -> bool:
        backends = worker_backends()
        found[:] = backends
        return len(backends) == 1 and backends[0]["state"] == "idle"

    wait_until(settled, timeout=15, message=lambda: f"one idle worker backend (have {found})")
    return found[0]


def run_noop(stage):
    job = job_create(template=stage["templates"]["noop"], body={"input_values": {}}, creator=stage["admin"])
    job = wait_for_status(job.pk, {"finished", "errored", "cancelled"})
    assert job.status == "finished", job.error_reason
    return job


def test_one_backend_serves_two_jobs_in_a_row(start_worker, stage):
    start_worker(concurrency=1, extra_env=QUIET)
    first = run_noop(stage)
    backend = one_idle_backend()
    assert backend["start"] < first.end_time

    second = run_noop(stage)
    after = one_idle_backend()
    assert after["pid"] == backend["pid"] and after["start"] == backend["start"]
    # The same backend ran the second job's statements: it was busy after that job was created.
    assert after["state_change"] > second.creation_time


def test_a_killed_backend_between_jobs_costs_a_reconnect_not_a_job(start_worker, stage):
    start_worker(concurrency=1, extra_env=QUIET)
    run_noop(stage)
    killed = one_idle_backend()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [killed["pid"]])
    wait_until(lambda: not worker_backends(), timeout=10, message="the killed backend to be gone")

    second = run_noop(stage)
    assert second.attempts == 1
    assert one_idle_backend()["pid"] != killed["pid"]
    # And the new connection is kept in turn.
    third = run_noop(stage)
    assert third.attempts == 1


def test_age_zero_closes_the_connection_after_every_task(start_worker, stage):
    start_worker(concurrency=1, extra_env={**QUIET, "WORKER_DB_CONN_MAX_AGE": "0"})
    job = run_noop(stage)
    wait_until(
        lambda: not worker_backends(), timeout=15, message=lambda: f"no worker backend left (have {worker_backends()})"
    )
    assert job.attempts == 1
