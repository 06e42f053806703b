"""Every kind end to end with a real Celery worker and a notifier (as ``make run`` starts them) on the test
database and the configured broker: print (the worker's log), email (Django's file backend in the
notifier), webhook (a recording server on 127.0.0.1), websocket (a real ``websockets`` client against
daphne run as a subprocess, as ``make run`` does); children of a meta-job (defaults suppressed, an
explicit child override fires); and a webhook that times out, retried on its own until it fails, which
never fails its job. tests/notifications/test_off_the_job_path.py: a hanging one never delays another job.
"""

from __future__ import annotations

import asyncio
import email
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import websockets
from django.conf import settings
from rest_framework_simplejwt.tokens import RefreshToken

from jobtemplates.models import Job
from jobtemplates.services.jobs import job_create
from notifications.models import NotificationDelivery
from tests.e2e import wait_for_status
from tests.notifications.conftest import GROUP_PREFIX, templates_for
from tests.workers import REPO, WorkerProcess, database_url, notification_queue_of, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# Small retry delays: 3 attempts, 1 s then 2 s apart; a webhook gives up after half a second.
DELIVERY_ENV = {
    "NOTIFICATION_DELIVERY_MAX_RETRIES": "2",
    "NOTIFICATION_RETRY_BACKOFF_SECONDS": "1",
    "NOTIFICATION_RETRY_JITTER": "false",
    "NOTIFICATION_WEBHOOK_TIMEOUT_SECONDS": "0.5",
    "NOTIFICATION_WEBSOCKET_GROUP_PREFIX": GROUP_PREFIX,
}


@pytest.fixture(scope="module")
def mailbox(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("mailbox")


@pytest.fixture(scope="module")
def worker(request, django_db_setup, django_db_blocker, tmp_path_factory, mailbox):
    """One worker for the module (the executors' queue, media and fast clocks) and its notifier, writing
    emails as files into ``mailbox``; this process sends deliveries to the notifier's queue too."""
    request.getfixturevalue("shared_media")
    request.getfixturevalue("fast_clocks")
    queue = request.getfixturevalue("worker_queue")
    env = {
        **DELIVERY_ENV,
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(mailbox),
    }
    previous, settings.NOTIFICATION_QUEUE = settings.NOTIFICATION_QUEUE, notification_queue_of(queue)
    with django_db_blocker.unblock():  # each waits until the registry (the test database) knows it
        process = WorkerProcess(queue=queue, log_dir=tmp_path_factory.mktemp("workers"), extra_env=env)
        notifier = WorkerProcess.notifier(queue=queue, log_dir=tmp_path_factory.mktemp("workers"), extra_env=env)
    process.notifier = notifier
    yield process
    notifier.stop()
    process.stop()
    settings.NOTIFICATION_QUEUE = previous


@pytest.fixture
def stage(transactional_db, admin_user):
    return {**templates_for(admin_user), "admin": admin_user}


def create(template, user, **body):
    return job_create(template=template, body={"input_values": {}, **body}, creator=user)


def deliveries(job) -> list[tuple[str, str, str]]:
    return list(NotificationDelivery.objects.filter(job=job).order_by("pk").values_list("action", "kind", "status"))


def wait_for_deliveries(job, count: int, *, settled: bool = True, timeout: float = 20) -> list[tuple[str, str, str]]:
    """Wait until ``job`` has ``count`` deliveries (none pending when ``settled``)."""

    def done() -> bool:
        rows = deliveries(job)
        return len(rows) >= count and not (settled and any(status == "pending" for _, _, status in rows))

    wait_until(done, timeout=timeout, message=lambda: f"{count} settled deliveries of job {job.pk}: {deliveries(job)}")
    return deliveries(job)


def read_mailbox(mailbox: Path) -> list[email.message.Message]:
    messages = []
    for path in sorted(mailbox.glob("*.log")):
        # The file backend separates messages with a line of dashes.
        for chunk in path.read_text().split("-" * 79):
            if chunk.strip():
                messages.append(email.message_from_string(chunk.strip()))
    return messages


class TestEachKind:
    def test_print_goes_to_the_workers_log(self, worker, stage):
        job = create(stage["noop"], stage["admin"])
        wait_for_status(job.pk, "finished")
        wait_for_deliveries(job, 3)
        wait_until(lambda: f"Job #{job.pk} finished" in worker.tail(400), timeout=10, message="print in the log")
        assert f"Job #{job.pk} started" in worker.tail(400)
        assert deliveries(job) == [
            ("on_start", "print", "sent"),
            ("on_start", "email", "sent"),
            ("on_finish", "print", "sent"),
        ]

    def test_email_to_the_creator_and_to_given_addresses(self, worker, stage, mailbox):
        job = create(
            stage["noop"],
            stage["admin"],
            description="digits run",
            notification_override={
                "keep_default": True,
                "actions": {
                    "on_finish": [
                        {
                            "subject": "[{status}] job {pk}",
                            "body": "{template}: {description}",
                            "to": "ops@example.org",
                            "cc": ["lead@example.org"],
                        }
                    ]
                },
            },
        )
        wait_for_status(job.pk, "finished")
        wait_for_deliveries(job, 4)
        mine = {m["Subject"]: m for m in read_mailbox(mailbox) if str(job.pk) in m["Subject"]}
        started = mine[f"Job #{job.pk} started"]
        assert started["To"] == "root@example.com" and started["From"] == settings.DEFAULT_FROM_EMAIL
        assert "digits run" in started.get_payload()
        finished = mine[f"[finished] job {job.pk}"]
        assert (finished["To"], finished["Cc"]) == ("ops@example.org", "lead@example.org")
        assert finished.get_payload() == "noop v1: digits run"

    def test_webhook_posts_the_data(self, worker, stage, webhook_server):
        job = create(
            stage["fail"],
            stage["admin"],
            notification_override={"actions": {"on_error": [{"url": f"{webhook_server.url}/failed"}]}},
            parameter_values={"message": {"value": "no luck", "type": "str"}},
        )
        wait_for_status(job.pk, "errored")
        assert wait_for_deliveries(job, 1) == [("on_error", "webhook", "sent")]
        [request] = webhook_server.requests
        assert request["path"] == "/failed"
        payload = request["json"]
        assert (payload["pk"], payload["transition"], payload["status"]) == (job.pk, "error", "errored")
        assert payload["error"] == "RuntimeError: no luck" and payload["template"] == "fail v1"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def daphne(worker, tmp_path):
    """daphne serving config.asgi on a free port, on the test database, beside the worker (as ``make run``)."""
    port = free_port()
    log = (tmp_path / "daphne.log").open("w")
    env = {
        **os.environ,
        **DELIVERY_ENV,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "config.server", "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )

    def listening() -> bool:
        assert process.poll() is None, (tmp_path / "daphne.log").read_text()
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", port)) == 0

    wait_until(listening, timeout=30, interval=0.1, message="daphne listening")
    yield f"ws://127.0.0.1:{port}"
    process.terminate()
    process.wait(timeout=10)
    log.close()


async def collect(url: str, *, until: str, timeout: float = 30) -> list[tuple[float, dict]]:
    """Messages (with their arrival time) until one says ``transition == until``."""
    received = []
    async with websockets.connect(url, open_timeout=10) as connection:
        async with asyncio.timeout(timeout):
            while True:
                data = json.loads(await connection.recv())
                received.append((time.time(), data))
                if data["transition"] == until:
                    return received


async def close_code_of(url: str, **kwargs) -> int:
    async with websockets.connect(url, open_timeout=10, **kwargs) as connection:
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(connection.recv(), 10)
    return closed.value.rcvd.code


class TestWebsocketThroughDaphne:
    def test_a_running_jobs_transitions_stream_to_a_real_client(self, daphne, stage):
        admin = stage["admin"]
        job = create(
            stage["noop"],
            admin,
            parameter_values={"sleep": {"value": 1.5, "type": "float"}, "steps": {"value": 5, "type": "int"}},
            notification_override={"actions": {action: [{}] for action in ("on_start", "on_progress", "on_finish")}},
        )
        token = RefreshToken.for_user(admin).access_token
        received = asyncio.run(collect(f"{daphne}/v1/jobs/{job.pk}?token={token}", until="finish"))
        transitions = [data["transition"] for _, data in received]
        assert transitions[0] in ("start", "progress") and "progress" in transitions
        assert transitions.count("finish") == 1
        arrived, finished = received[-1]
        assert (finished["pk"], finished["status"], finished["progress"]) == (job.pk, "finished", 1.0)
        job = Job.objects.get(pk=job.pk)
        # Measured: commit of the finish to its arrival at the client (same machine, one clock).
        latency = arrived - job.end_time.timestamp()
        print(
            f"websocket latency (finish committed → client): {latency * 1000:.0f} ms "
            f"({'redis layer' if 'redis' in settings.CELERY_BROKER_URL else 'polling records'})"
        )

    def test_daphne_refuses_strangers_with_our_codes(self, daphne, stage, other_user):
        hidden = create(stage["hidden"], stage["admin"])
        assert asyncio.run(close_code_of(f"{daphne}/v1/jobs/{hidden.pk}")) == 4401
        assert asyncio.run(close_code_of(f"{daphne}/v1/jobs/{hidden.pk}?token=nonsense")) == 4401
        token = RefreshToken.for_user(other_user).access_token
        assert (
            asyncio.run(
                close_code_of(f"{daphne}/v1/jobs/{hidden.pk}", additional_headers={"Authorization": f"Bearer {token}"})
            )
            == 4404
        )


class TestChildren:
    def test_child_defaults_are_suppressed_and_an_explicit_child_override_fires(self, worker, stage, webhook_server):
        admin = stage["admin"]
        parent = create(
            stage["meta"],
            admin,
            child_notification_overrides={
                "second": {
                    "actions": {
                        "on_finish": [
                            {"url": f"{webhook_server.url}/second"},
                            {"message": "skipped", "suppress_for_parent": True},
                        ]
                    }
                }
            },
        )
        wait_for_status(parent.pk, "finished", timeout=40)
        first, second = parent.children.get(child_name="first"), parent.children.get(child_name="second")
        assert wait_for_deliveries(parent, 3) == [
            ("on_start", "print", "sent"),
            ("on_start", "email", "sent"),
            ("on_finish", "print", "sent"),
        ]
        assert wait_for_deliveries(second, 1) == [("on_finish", "webhook", "sent")]
        assert deliveries(first) == []
        [request] = webhook_server.requests
        assert request["path"] == "/second" and request["json"]["pk"] == second.pk
        log = worker.tail(1000)
        assert f"Job #{parent.pk} finished" in log
        assert f"Job #{first.pk} started" not in log and f"Job #{second.pk} finished" not in log
        assert "skipped" not in log


class TestFailingDelivery:
    def test_a_webhook_that_times_out_is_retried_on_its_own_and_never_fails_the_job(
        self, worker, stage, webhook_server
    ):
        webhook_server.delay = 10
        job = create(
            stage["noop"],
            stage["admin"],
            notification_override={
                "actions": {action: [{"url": f"{webhook_server.url}/{action}"}] for action in ("on_start", "on_finish")}
            },
        )
        job = wait_for_status(job.pk, {"finished", "errored"}, timeout=30)
        assert job.status == "finished"
        # 3 attempts each: 0.5 s timeouts, 1 s then 2 s apart.
        assert wait_for_deliveries(job, 2, timeout=30) == [
            ("on_start", "webhook", "failed"),
            ("on_finish", "webhook", "failed"),
        ]
        for delivery in NotificationDelivery.objects.filter(job=job):
            assert delivery.attempts == 3 and "timed out" in delivery.error
        assert len(webhook_server.requests) == 6
        after = Job.objects.get(pk=job.pk)
        assert (after.status, after.error_reason, after.end_time) == ("finished", None, job.end_time)
