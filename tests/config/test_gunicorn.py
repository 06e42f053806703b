"""gunicorn serving the HTTP API (config/gunicorn_conf.py), as real processes on the test database: its
persistent database connections stay within workers × threads however many clients come and go, a request
past REQUEST_TIMEOUT_SECONDS is stopped in its thread, which then serves on (its limits and JSON refusals:
tests/config/test_server_limits.py)."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from rest_framework_simplejwt.tokens import RefreshToken

from tests.factories import UserFactory
from tests.workers import REPO, database_url, wait_until

WORKERS, THREADS = 2, 3


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def gunicorn(log: Path, ready: str = "/healthz", **environment: str):
    """``python -m gunicorn -c python:config.gunicorn_conf`` on a free port and the test database, once it
    answers ``ready``; its port."""
    port = free_port()
    env = {
        **{name: value for name, value in os.environ.items() if name != "DB_CONN_MAX_AGE"},
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "WEB_WORKERS": str(WORKERS),
        "WEB_THREADS": str(THREADS),
        **environment,
    }
    command = [sys.executable, "-m", "gunicorn", "-c", "python:config.gunicorn_conf", "-b", f"127.0.0.1:{port}"]
    with log.open("w") as handle:
        process = subprocess.Popen(
            [*command, "config.wsgi:application"],
            cwd=REPO,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def answering() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"gunicorn exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            return get(port, ready)[0] == 200
        except OSError:
            return False

    try:
        wait_until(answering, timeout=60, interval=0.1, message="gunicorn answering")
        yield port
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)


def get(port: int, path: str, token: str | None = None, client=None) -> tuple[int, bytes]:
    own = client is None
    client = client or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        client.request("GET", path, headers={"Authorization": f"Bearer {token}"} if token else {})
        response = client.getresponse()
        return response.status, response.read()
    finally:
        if own:
            client.close()


def backends_of_the_test_database() -> int:
    """Connections to the test database other than this process's own."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


postgres_only = pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3", reason="PostgreSQL's backends"
)


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_persistent_connections_stay_within_workers_times_threads(tmp_path):
    user = UserFactory()
    token = str(RefreshToken.for_user(user).access_token)
    wait_until(lambda: backends_of_the_test_database() == 0, timeout=30, message="no other connection")
    with gunicorn(tmp_path / "gunicorn.log") as port:

        def client(number: int) -> list[tuple[int, str]]:
            # Half the clients keep one connection, half open one per request: both kinds come and go.
            kept = http.client.HTTPConnection("127.0.0.1", port, timeout=30) if number % 2 else None
            answers = []
            for _ in range(40):
                status, body = get(port, f"/v1/users/{user.pk}", token, client=kept)
                answers.append((status, json.loads(body).get("username")))
            if kept is not None:
                kept.close()
            return answers

        with ThreadPoolExecutor(max_workers=12) as clients:
            answers = [answer for batch in clients.map(client, range(12)) for answer in batch]
        held = backends_of_the_test_database()
    assert answers == [(200, user.username)] * len(answers)
    # Kept (the connections persist between requests), and one per thread of the fixed pools at most.
    assert 1 <= held <= WORKERS * THREADS, held


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_with_db_conn_max_age_0_no_connection_outlives_its_request(tmp_path):
    with gunicorn(tmp_path / "gunicorn.log", DB_CONN_MAX_AGE="0") as port:
        statuses = [get(port, "/healthz")[0] for _ in range(10)]
        # Each closes as its request finishes, just after the answer is sent.
        wait_until(lambda: backends_of_the_test_database() == 0, timeout=30, message="every connection closed")
    assert statuses == [200] * 10


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("route", ["spin", "sleep-in-database"])
def test_a_request_past_the_timeout_is_stopped_in_its_thread_which_serves_on(tmp_path, route):
    environment = {
        "DJANGO_SETTINGS_MODULE": "tests.config.slow_settings",
        "REQUEST_TIMEOUT_SECONDS": "1",
        "WEB_WORKERS": "1",
        "WEB_THREADS": "1",  # one thread: the answer after the stopped request comes from the same one
    }
    with gunicorn(tmp_path / "gunicorn.log", "/quick", **environment) as port:
        status, body = get(port, f"/{route}")  # 30 s of work unless stopped
        after = get(port, "/quick")
    answer = json.loads(body)
    assert (status, answer["code"], answer["reason"]) == (503, "request_interrupted", "timeout")
    assert "REQUEST_TIMEOUT_SECONDS" in answer["detail"]
    assert after == (200, b"quick")
