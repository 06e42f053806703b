"""``python -m config.server``: the service's daphne, which stops within its graceful timeout even
while a sync view still computes (plain daphne waits for it, however long it takes), and at once when
it has nothing running."""

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


class Server:
    """``python -m <module>`` serving config.asgi with the slow views' URLconf on a free port."""

    def __init__(self, module: str, tmp_path: Path, graceful: float) -> None:
        self.port, self.marker = free_port(), tmp_path / "started"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.config.slow_settings",
            "SLOW_VIEW_MARKER": str(self.marker),
            "SERVER_GRACEFUL_TIMEOUT_SECONDS": str(graceful),
            "REQUEST_TIMEOUT_SECONDS": "0",
            "VAR_DIR": str(tmp_path / "var"),
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", module, "-b", "127.0.0.1", "-p", str(self.port), "config.asgi:application"],
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


@pytest.mark.parametrize("client_stays", [True, False], ids=["client-waiting", "client-gone"])
def test_sigterm_stops_the_server_within_its_graceful_timeout(tmp_path, servers, client_stays):
    server = Server("config.server", tmp_path, graceful=1)
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
        assert "stopped 1 request(s) still running after the 1 s graceful timeout" in log
    else:
        assert "still running" not in log
    client.close()


def test_an_idle_server_stops_at_once_however_long_its_graceful_timeout(tmp_path, servers):
    server = Server("config.server", tmp_path, graceful=60)
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
