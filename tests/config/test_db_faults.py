"""Database faults (config/db_faults.py): a refused or stalled database answers 503 with the envelope and
``Retry-After`` on every kind of route (``/healthz``, authentication, DRF views, the admin) of a real
``manage.py serve``; a statement that outlives its timeout is a 503 ``database_timeout`` and leaves
nothing half written; connections carry the timeouts, and ``migrate`` runs without one.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.db.models.signals import post_migrate
from rest_framework_simplejwt.tokens import RefreshToken

from config.celery import app as celery_app
from jobtemplates.models import IdempotencyKey, Job
from jobtemplates.services.templates import template_import
from tests.workers import wait_until

REPO = Path(__file__).resolve().parents[2]
NOOP = REPO / "templates" / "builtin" / "noop.json"
# Generous: a stalled database costs DB_CONNECT_TIMEOUT_SECONDS (2 s here) per connection attempt.
CLIENT_TIMEOUT = 15
postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's timeouts")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def stalled_database() -> Iterator[int]:
    """A port that accepts connections and never says a word (a hung PostgreSQL, a black-holing proxy)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    listener.settimeout(0.2)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=5)
        for sock in held:
            sock.close()
        listener.close()


@contextmanager
def serving(database_url: str, log_path: Path) -> Iterator[str]:
    """``manage.py serve --no-worker`` on a free port against ``database_url``; stopped with SIGTERM."""
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url,
        "DB_CONNECT_TIMEOUT_SECONDS": "2",
        "CELERY_BROKER_URL": celery_app.conf.broker_url,
        "VAR_DIR": str(log_path.parent / "var"),
    }
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--no-worker", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

        def listening() -> bool:
            assert process.poll() is None, log_path.read_text()
            with socket.socket() as probe:
                return probe.connect_ex(("127.0.0.1", port)) == 0

        try:
            wait_until(listening, timeout=60, interval=0.1, message="the server listening")
            yield f"http://127.0.0.1:{port}"
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
                raise AssertionError("serve did not stop on SIGTERM") from None


def fetch(url: str, method: str = "GET", *, body: dict | None = None, headers: dict | None = None):
    """(status, headers, body) of one request; it must answer within CLIENT_TIMEOUT."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=CLIENT_TIMEOUT) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def forged_bearer() -> dict[str, str]:
    """A valid access token (signed with SECRET_KEY) for user 1, made without the database."""
    token = RefreshToken.for_user(get_user_model()(pk=1, username="ghost")).access_token
    return {"Authorization": f"Bearer {token}"}


def routes() -> list[tuple[str, str, dict | None, dict]]:
    bearer = forged_bearer()
    return [
        ("GET", "/healthz", None, {}),
        ("POST", "/v1/auth/obtain", {"username": "alice", "password": "secret"}, {}),
        ("GET", "/v1/jobs", None, bearer),
        ("POST", "/v1/job-templates/list", {}, bearer),
        ("GET", "/v1/users/1", None, bearer),
        ("POST", "/v1/job-templates/1/create-job", {"input_values": {}}, {**bearer, "Idempotency-Key": "k"}),
        # The admin's session lookup (a plain Django view: the middleware answers).
        ("GET", "/admin/", None, {"Cookie": "sessionid=abcdefghijklmnopqrstuvwxyz012345"}),
    ]


def assert_every_route_is_a_503(base: str) -> None:
    for method, path, body, headers in routes():
        status, response_headers, content = fetch(base + path, method, body=body, headers=headers)
        assert status == 503, (method, path, status, content[:300])
        envelope = json.loads(content)
        assert envelope["code"] == "database_unavailable", (path, envelope)
        assert isinstance(envelope["detail"], str) and isinstance(envelope["errors"], list), (path, envelope)
        assert response_headers["Retry-After"] == str(settings.DB_RETRY_AFTER_SECONDS), path
    health = json.loads(fetch(base + "/healthz")[2])
    assert health["errors"][0]["path"] == "database" and health["database"]["ok"] is False
    assert health["broker"]["ok"] is True
    # What needs no database still works.
    status, _, _ = fetch(base + "/v1/schema")
    assert status == 200


def test_a_refused_database_is_a_503_on_every_route(tmp_path):
    closed_port = free_port()  # nothing listens there
    with serving(f"postgres://postgres@127.0.0.1:{closed_port}/nowhere", tmp_path / "serve.log") as base:
        assert_every_route_is_a_503(base)


def test_a_stalled_database_is_a_503_on_every_route_and_serve_stops_on_sigterm(tmp_path):
    with (
        stalled_database() as port,
        serving(f"postgres://postgres@127.0.0.1:{port}/stalled", tmp_path / "serve.log") as base,
    ):
        assert_every_route_is_a_503(base)


# --- statement timeouts (PostgreSQL) ---------------------------------------------------------------


@postgres_only
@pytest.mark.django_db
def test_connections_carry_the_timeouts():
    options = settings.DATABASES["default"]["OPTIONS"]
    assert options["connect_timeout"] == settings.DB_CONNECT_TIMEOUT_SECONDS
    assert f"statement_timeout={settings.DB_STATEMENT_TIMEOUT_MS}" in options["options"]
    result: dict = {}

    def fresh_connection() -> None:  # a thread's own connection: the options as a new session sees them
        try:
            with connection.cursor() as cursor:
                cursor.execute("SHOW statement_timeout")
                result["timeout"] = cursor.fetchone()[0]
        finally:
            connection.close()

    thread = threading.Thread(target=fresh_connection)
    thread.start()
    thread.join(timeout=30)
    assert result["timeout"] == f"{settings.DB_STATEMENT_TIMEOUT_MS // 1000}s"


@postgres_only
@pytest.mark.django_db
def test_connections_run_without_jit():
    """JIT compiled the planner's "costly" few-row queries (the live-nodes query: ~29 ms instead of ~2)."""
    result: dict = {}

    def fresh_connection() -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SHOW jit")
                result["jit"] = cursor.fetchone()[0]
        finally:
            connection.close()

    thread = threading.Thread(target=fresh_connection)
    thread.start()
    thread.join(timeout=30)
    assert result["jit"] == "off"


@postgres_only
@pytest.mark.django_db
def test_migrate_runs_without_a_statement_timeout():
    seen: list[str] = []

    def during(sender, **kwargs) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SHOW statement_timeout")
            seen.append(cursor.fetchone()[0])

    post_migrate.connect(during, dispatch_uid="test-migrate-timeout")
    try:
        call_command("migrate", verbosity=0)
    finally:
        post_migrate.disconnect(dispatch_uid="test-migrate-timeout")
    assert seen and set(seen) == {"0"}
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == f"{settings.DB_STATEMENT_TIMEOUT_MS // 1000}s"


@pytest.fixture
def slow_idempotency_keys(db):
    """Writing an idempotency key (create-job's last write) takes 2 s; statements may take 0.3 s."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION test_slow_write() RETURNS trigger AS $$ BEGIN PERFORM pg_sleep(2); RETURN NEW; END $$ "
            "LANGUAGE plpgsql"
        )
        cursor.execute(
            f"CREATE TRIGGER test_slow_write BEFORE INSERT ON {IdempotencyKey._meta.db_table} "
            "FOR EACH ROW EXECUTE FUNCTION test_slow_write()"
        )
        cursor.execute("SET statement_timeout = 300")  # undone with the test's transaction


@postgres_only
def test_a_statement_timeout_is_a_503_and_nothing_is_half_written(
    slow_idempotency_keys, seeded_catalogue, admin_user, client, monkeypatch
):
    monkeypatch.setattr(celery_app, "send_task", lambda *args, **kwargs: None)
    noop = template_import(data=json.loads(NOOP.read_text()), creator=admin_user).template
    response = client.post(
        f"/v1/job-templates/{noop.pk}/create-job", {"input_values": {}}, format="json", HTTP_IDEMPOTENCY_KEY="slow"
    )
    assert response.status_code == 503, response.content
    assert response.json() == {
        "detail": "The database did not answer in time; nothing was changed. Try again shortly.",
        "code": "database_timeout",
        "errors": [],
    }
    assert response["Retry-After"] == str(settings.DB_RETRY_AFTER_SECONDS)
    # The job was written before the key timed out: both went back together.
    assert Job.objects.count() == 0 and IdempotencyKey.objects.count() == 0
