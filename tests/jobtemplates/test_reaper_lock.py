"""One reaper pass at a time: a pass that starts while another runs (another beat, a manual call) skips and
says so, and every job is sent once; the lock (config.db_locks) is free again after a pass, also one that
failed. Passes run in threads, each on its own database connection (a session of its own, as a process).
"""

from __future__ import annotations

import json
import logging
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from config.celery import app as celery_app
from config.db_locks import exclusive
from jobtemplates.services.jobs.enqueueing import RUN_JOB_TASK
from jobtemplates.services.jobs.reaping import REAPER_LOCK, ReapReport, jobs_reap
from jobtemplates.services.templates import template_import
from tests.factories import JobFactory

pytestmark = pytest.mark.django_db(transaction=True)

BUILTIN = Path(__file__).resolve().parents[2] / "templates" / "builtin"


def ago(seconds: float):
    return timezone.now() - timedelta(seconds=seconds)


def in_thread(function, *args):
    """Run ``function`` in a thread of its own (its own connection, closed after); returns (thread, result)."""
    result: dict = {}

    def run() -> None:
        try:
            result["value"] = function(*args)
        except BaseException as error:  # noqa: BLE001 - handed to the test
            result["error"] = error
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


@pytest.fixture
def lost_jobs(catalogue, admin_user, settings):
    """Ten queued jobs whose message looks lost and five running jobs whose worker looks dead."""
    settings.JOB_RESEND_AFTER_SECONDS = 300
    settings.JOB_HEARTBEAT_STALE_SECONDS = 60
    template_import(data=json.loads((BUILTIN / "noop.json").read_text()), creator=admin_user)
    queued = [JobFactory(queued=True, enqueued_time=ago(301)).pk for _ in range(10)]
    running = [JobFactory(running=True, heartbeat=ago(61)).pk for _ in range(5)]
    return queued + running


def test_a_second_pass_skips_while_the_first_runs_and_each_job_is_sent_once(lost_jobs, monkeypatch, caplog):
    sent: list[int] = []
    first_send = threading.Event()
    second_pass_done = threading.Event()
    lock = threading.Lock()

    def broker(name, *args, **kwargs) -> None:
        """The broker stand-in: the first message waits until the second pass is over, so they overlap."""
        if name != RUN_JOB_TASK:
            return
        with lock:
            sent.append(kwargs["kwargs"]["job_id"])
            first = len(sent) == 1
        if first:
            first_send.set()
            assert second_pass_done.wait(timeout=30)

    monkeypatch.setattr(celery_app, "send_task", broker)
    thread, first = in_thread(jobs_reap)
    assert first_send.wait(timeout=30), first
    with caplog.at_level(logging.INFO, logger="jobtemplates.services.jobs.reaping"):
        second_thread, second = in_thread(jobs_reap)
        second_thread.join(timeout=30)
    second_pass_done.set()
    thread.join(timeout=60)

    assert "error" not in first and "error" not in second, (first, second)
    assert second["value"] == ReapReport(skipped=True)
    assert "another pass is running" in caplog.text
    assert first["value"].skipped is False
    assert sorted(first["value"].resent + first["value"].requeued) == sorted(lost_jobs)
    assert sorted(sent) == sorted(lost_jobs)  # each once
    # The lock is free again: the next pass runs (and finds nothing left to send).
    after = jobs_reap()
    assert after.skipped is False and after.resent == after.requeued == []


def test_the_lock_is_exclusive_across_connections_and_freed_after_a_failure(db):
    with exclusive(REAPER_LOCK) as held:
        assert held
        thread, other = in_thread(lambda: exclusive_now(REAPER_LOCK))
        thread.join(timeout=30)
        assert other == {"value": False}
    with pytest.raises(RuntimeError), exclusive(REAPER_LOCK):
        raise RuntimeError("a pass that failed")
    thread, other = in_thread(lambda: exclusive_now(REAPER_LOCK))
    thread.join(timeout=30)
    assert other == {"value": True}


def test_other_names_do_not_block_each_other(db):
    with exclusive(REAPER_LOCK) as held:
        thread, other = in_thread(lambda: exclusive_now("something.else"))
        thread.join(timeout=30)
    assert held and other == {"value": True}


def exclusive_now(name: str) -> bool:
    with exclusive(name) as acquired:
        return acquired
