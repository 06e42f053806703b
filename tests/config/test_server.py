"""The service's servers stop within their graceful timeout even while a sync view still computes, the
request answered 503 (plain daphne waits for it, however long it takes), and at once when they have
nothing running: ``python -m config.server`` (daphne, for websockets) and gunicorn with
config/gunicorn_conf.py (the HTTP API). ``manage.py serve`` runs both and the worker, and stops them all."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def command(server: str, port: int) -> list[str]:
    """``server`` (``config.server``, ``daphne`` or ``gunicorn``) serving the service on ``port``."""
    if server == "gunicorn":
        conf = ["-c", "python:config.gunicorn_conf", "-b", f"127.0.0.1:{port}", "config.wsgi:application"]
        return [sys.executable, "-m", "gunicorn", *conf]
    return [sys.executable, "-m", server, "-b", "127.0.0.1", "-p", str(port), "config.asgi:application"]


class Server:
    """A server (see ``command``) serving the slow views' URLconf on a free port."""

    def __init__(self, server: str, tmp_path: Path, graceful: float) -> None:
        self.port, self.marker = free_port(), tmp_path / "started"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.config.slow_settings",
            "SLOW_VIEW_MARKER": str(self.marker),
            "SERVER_GRACEFUL_TIMEOUT_SECONDS": str(graceful),
            "REQUEST_TIMEOUT_SECONDS": "0",
            "VAR_DIR": str(tmp_path / "var"),
            "WEB_WORKERS": "1",
        }
        self.process = subprocess.Popen(
            command(server, self.port),
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        wait_for(lambda: self.process.poll() is not None or self.connects(), 60, "the server to listen")

    def connects(self) -> bool:
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
        except OSError:
            return False
        return True

    def send(self, route: str) -> socket.socket:
        client = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        client.sendall(f"GET /{route} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
        return client

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def servers():
    started: list[Server] = []
    yield started
    for server in started:
        server.stop()


@pytest.mark.parametrize(
    ("name", "client_stays"),
    [("config.server", True), ("config.server", False), ("gunicorn", True)],
    ids=["daphne-client-waiting", "daphne-client-gone", "gunicorn-client-waiting"],
)
def test_sigterm_stops_the_server_within_its_graceful_timeout(tmp_path, servers, name, client_stays):
    server = Server(name, tmp_path, graceful=1)
    servers.append(server)
    client = server.send("spin")  # 30 s of CPU in a sync view unless stopped
    wait_for(server.marker.exists, 30, "the view to start")
    if not client_stays:
        client.close()  # the view is interrupted at once (config.interrupts)
    server.process.send_signal(signal.SIGTERM)
    status = server.process.wait(timeout=15)  # well before the view's 30 s would end
    log = server.process.stderr.read().decode()
    assert status == 0, log
    if client_stays:
        assert "stopped 1 request(s) still running" in log
        if name == "gunicorn":  # the view was stopped and answered, its worker not killed with it
            assert client.recv(65536).startswith(b"HTTP/1.1 503")
    else:
        assert "still running" not in log
    client.close()


@pytest.mark.parametrize("name", ["config.server", "gunicorn"])
def test_an_idle_server_stops_at_once_however_long_its_graceful_timeout(tmp_path, servers, name):
    server = Server(name, tmp_path, graceful=60)
    servers.append(server)
    client = server.send("quick")
    assert client.recv(65536).startswith(b"HTTP/1.1 200")
    client.close()
    server.process.send_signal(signal.SIGTERM)
    # Sync views ran in threads that stay in the pool, idle: they are not waited for.
    assert server.process.wait(timeout=20) == 0
    assert "still running" not in server.process.stderr.read().decode()


def test_plain_daphne_keeps_running_after_sigterm_while_a_view_computes(tmp_path, servers):
    """The defect config.server exists for: the baseline the tests above are measured against."""
    server = Server("daphne", tmp_path, graceful=1)
    servers.append(server)
    client = server.send("spin")
    wait_for(server.marker.exists, 30, "the view to start")
    server.process.send_signal(signal.SIGTERM)
    with pytest.raises(subprocess.TimeoutExpired):
        server.process.wait(timeout=3)
    client.close()


def children(pid: int) -> dict[int, str]:
    """The processes whose parent is ``pid``, with their command lines (from /proc)."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                found[int(stat.parent.name)] = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError, ValueError):  # a process that ended meanwhile
            continue
    return found


def in_group(pgid: int) -> list[int]:
    """The live processes of the process group ``pgid``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # a process that ended meanwhile
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(int(stat.parent.name))
    return found


def healthy(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as client:
            client.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            return client.recv(65536).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


class Serve:
    """``manage.py serve`` on free ports and the test database."""

    def __init__(self, tmp_path: Path, *options: str) -> None:
        from django.conf import settings

        from tests.workers import database_url

        self.port, self.ws_port = free_port(), free_port()
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DATABASE_URL": database_url(),
            "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
            "VAR_DIR": str(tmp_path / "var"),
            "WEB_WORKERS": "1",
            "WEB_THREADS": "2",
        }
        ports = ["--host", "127.0.0.1", "--port", str(self.port), "--ws-port", str(self.ws_port)]
        self.log = tmp_path / "serve.log"
        with self.log.open("w") as handle:
            self.process = subprocess.Popen(
                [sys.executable, "manage.py", "serve", *ports, *options],
                cwd=ROOT,
                env=env,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.children: dict[int, str] = {}

    def wait_until_serving(self) -> None:
        wait_for(lambda: healthy(self.port) and healthy(self.ws_port), 60, "gunicorn and daphne to answer")
        self.children = children(self.process.pid)

    def child(self, what: str) -> int:
        found = [pid for pid, command in self.children.items() if what in command]
        assert len(found) == 1, (what, self.children)
        return found[0]

    def stop(self) -> None:
        # serve and each of its processes' groups (a test that failed half-way leaves them running).
        for group in [self.process.pid, *self.children, *children(self.process.pid)]:
            try:
                os.killpg(group, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.process.wait()


@pytest.fixture
def serves():
    started: list[Serve] = []
    yield started
    for serve in started:
        serve.stop()


@pytest.mark.django_db(transaction=True)
def test_serve_runs_gunicorn_daphne_and_the_worker_and_sigterm_stops_them_all(tmp_path, serves):
    serve = Serve(tmp_path)
    serves.append(serve)
    serve.wait_until_serving()
    web, websockets, worker = serve.child("-m gunicorn"), serve.child("-m config.server"), serve.child("worker --beat")
    notifier = serve.child("--pool threads")  # emails and webhooks, on their own queue
    assert "config.wsgi:application" in serve.children[web] and f"127.0.0.1:{serve.port}" in serve.children[web]
    assert f"-p {serve.ws_port} config.asgi:application" in serve.children[websockets]
    assert "--queues notifications" in serve.children[notifier] and "notifications" not in serve.children[worker]
    log = serve.log.read_text()
    assert f"http://127.0.0.1:{serve.port}/" in log and f"ws://127.0.0.1:{serve.ws_port}/" in log
    serve.process.send_signal(signal.SIGTERM)
    assert serve.process.wait(timeout=30) == 0, serve.log.read_text()
    # Each runs in a group of its own, with what it started (gunicorn's workers, celery's pool and beat).
    wait_for(lambda: not any(in_group(pid) for pid in (web, websockets, worker, notifier)), 10, "every process to stop")


@pytest.mark.django_db(transaction=True)
def test_when_one_process_exits_serve_stops_the_rest(tmp_path, serves):
    serve = Serve(tmp_path, "--no-worker")
    serves.append(serve)
    serve.wait_until_serving()
    assert len(serve.children) == 2
    web, websockets = serve.child("-m gunicorn"), serve.child("-m config.server")
    os.kill(websockets, signal.SIGKILL)
    assert serve.process.wait(timeout=30) != 0
    assert "websockets exited with status" in serve.log.read_text()
    wait_for(lambda: not in_group(web), 10, "gunicorn and its workers to stop")
