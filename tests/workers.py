"""Real Celery worker processes for end-to-end tests, on the test database and the configured broker.

A worker runs ``celery -A config worker`` in its own process group, on the same database as the test
(pytest-django's test database), the same media folder, and a queue of its own (so concurrent test
runs on one Redis never take each other's tasks). Waiting is polling with a bounded timeout.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

from django.conf import settings
from django.db import connection

REPO = Path(__file__).resolve().parents[1]
# Fast clocks for tests: heartbeats, cancellation grace and staleness in seconds, not minutes.
FAST_ENV = {
    "JOB_HEARTBEAT_SECONDS": "0.2",
    "JOB_PROGRESS_NOTIFY_SECONDS": "0.2",
    "JOB_CANCEL_GRACE_SECONDS": "1.5",
    "JOB_HEARTBEAT_STALE_SECONDS": "2",
    "JOB_RESEND_AFTER_SECONDS": "2",
    "JOB_REAPER_INTERVAL_SECONDS": "1",
    "WORKER_HEARTBEAT_SECONDS": "1",
}


def database_url() -> str:
    """The URL of the database this test process uses (the test database, not the configured one)."""
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    credentials = quote(db["USER"] or "")
    if db.get("PASSWORD"):
        credentials += ":" + quote(db["PASSWORD"])
    host = db.get("HOST") or "127.0.0.1"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{credentials}@{host}{port}/{db['NAME']}"


def wait_until(
    condition: Callable[[], bool],
    *,
    timeout: float,
    interval: float = 0.05,
    message: str | Callable[[], str] = "condition",
) -> None:
    """Poll ``condition`` until true; on timeout fail with ``message`` (a callable is evaluated then)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    text = message() if callable(message) else message
    raise AssertionError(f"timed out after {timeout}s waiting for {text}")


def notification_queue_of(queue: str) -> str:
    """The notification queue (NOTIFICATION_QUEUE) of the workers on job queue ``queue``."""
    return f"{queue}.notifications"


def celery_worker_command(
    *, app: str = "config", queue: str, hostname: str, concurrency: int, loglevel: str = "INFO", pool: str = "prefork"
) -> list[str]:
    """``celery worker`` of ``app`` as the tests (and bench/jobs.py) start it: a prefork pool (or
    ``pool``: ``threads`` for a notifier) of ``concurrency`` consuming ``queue`` only (names, comma
    separated), without mingle or gossip (no waiting on other workers at start)."""
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        app,
        "worker",
        "--pool",
        pool,
        "--concurrency",
        str(concurrency),
        "--queues",
        queue,
        "--hostname",
        hostname,
        "--without-mingle",
        "--without-gossip",
        "--loglevel",
        loglevel,
    ]


class WorkerProcess:
    """One worker (prefork pool) consuming ``queue``. Its emails and webhooks go to its notification queue
    (``notification_queue_of(queue)``, its NOTIFICATION_QUEUE), which a job worker does not consume, as in
    production: a test waiting for one to be sent starts ``WorkerProcess.notifier`` (threads on that queue,
    as ``manage.py serve`` runs it), or asks this worker to deliver them too (``notifications=True``)."""

    def __init__(
        self,
        *,
        queue: str,
        log_dir: Path,
        concurrency: int = 2,
        beat: bool = False,
        extra_env: dict[str, str] | None = None,
        name: str = "w",
        notifications: bool = False,
        pool: str = "prefork",
        consume: str | None = None,
        hostname: str | None = None,
    ):
        self.queue = queue
        self.notification_queue = notification_queue_of(queue)
        self.log = log_dir / f"worker-{name}-{uuid.uuid4().hex[:6]}.log"
        env = {
            **os.environ,
            **FAST_ENV,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "MEDIA_ROOT": str(settings.MEDIA_ROOT),
            "EXECUTOR_ALLOWED_MODULES": ",".join(settings.EXECUTOR_ALLOWED_MODULES),
            "EMAIL_BACKEND": settings.EMAIL_BACKEND,
            "CELERY_TASK_DEFAULT_QUEUE": queue,
            "NOTIFICATION_QUEUE": self.notification_queue,
            # Webhook receivers of the tests listen on 127.0.0.1 (refused by default: SSRF guard).
            "NOTIFICATION_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
            **(extra_env or {}),
        }
        # Its node name: unique by default; ``hostname`` names it as a container would (celery@<container>).
        self.hostname = hostname or f"{name}-{uuid.uuid4().hex[:6]}@{socket.gethostname()}"
        if consume is None:
            consume = f"{queue},{self.notification_queue}" if notifications else queue
        command = celery_worker_command(queue=consume, hostname=self.hostname, concurrency=concurrency, pool=pool)
        if beat:
            command += ["--beat", "--schedule", str(log_dir / f"beat-{uuid.uuid4().hex[:6]}")]
        self.handle = self.log.open("w")
        self.process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=self.handle, stderr=subprocess.STDOUT, start_new_session=True
        )
        wait_until(self.ready, timeout=60, interval=0.1, message=f"worker ready (log {self.log})")
        # Ready for jobs once the registry knows it: create-job asks the registry whether anything runs them.
        wait_until(self.registered, timeout=30, interval=0.1, message=f"worker registered (log {self.log})")

    @classmethod
    def notifier(cls, *, queue: str, log_dir: Path, concurrency: int = 4, **kwargs) -> WorkerProcess:
        """The notifier of the workers on job queue ``queue``: threads on its notification queue only."""
        return cls(
            queue=queue,
            log_dir=log_dir,
            concurrency=concurrency,
            pool="threads",
            consume=notification_queue_of(queue),
            name=kwargs.pop("name", "notifier"),
            **kwargs,
        )

    def registered(self) -> bool:
        from runners.models import Worker

        self.ready()  # raises if it exited
        return Worker.objects.filter(name=self.hostname, stopped_at__isnull=True).exists()

    def ready(self) -> bool:
        if self.process.poll() is not None:
            raise AssertionError(f"worker exited with {self.process.returncode}:\n{self.tail()}")
        return " ready." in self.log.read_text(errors="replace")

    def tail(self, lines: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def kill(self) -> None:
        """SIGKILL the whole process group: the main process and its pool children, mid-job."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=15)
        self.handle.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                pass
        self.kill()
