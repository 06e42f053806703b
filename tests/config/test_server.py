"""``python -m config.server``: daphne that stops within its graceful timeout, even while a sync
request is still computing (plain daphne waits for it, however long it takes)."""

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
BUSY_SECONDS = 60


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


def serve_busy(module: str, tmp_path: Path) -> tuple[subprocess.Popen, socket.socket]:
    """Start ``python -m <module>`` on the slow app, send one request and wait until it is computing."""
    port, marker = free_port(), tmp_path / "started"
    env = {
        **os.environ,
        "SLOW_ASGI_MARKER": str(marker),
        "SLOW_ASGI_SECONDS": str(BUSY_SECONDS),
        "SERVER_GRACEFUL_TIMEOUT_SECONDS": "1",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", module, "-b", "127.0.0.1", "-p", str(port), "tests.config.slow_asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )

    def connect() -> socket.socket | None:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=1)
        except OSError:
            return None

    wait_for(lambda: process.poll() is not None or connect() is not None, 30, "the server to listen")
    client = socket.create_connection(("127.0.0.1", port), timeout=5)
    client.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
    wait_for(marker.exists, 30, "the request to start computing")
    return process, client


@pytest.mark.parametrize("client_stays", [True, False], ids=["client-waiting", "client-gone"])
def test_sigterm_stops_the_server_within_its_graceful_timeout(tmp_path, client_stays):
    process, client = serve_busy("config.server", tmp_path)
    try:
        if not client_stays:
            client.close()
        process.send_signal(signal.SIGTERM)
        # Well before the request's 60 s of work would end (the graceful timeout is 1 s).
        status = process.wait(timeout=BUSY_SECONDS / 3)
        assert status == 0, process.stderr.read().decode()
        assert b"still running after the 1 s graceful timeout" in process.stderr.read()
    finally:
        client.close()
        if process.poll() is None:
            process.kill()
            process.wait()


def test_plain_daphne_keeps_running_after_sigterm_while_a_request_computes(tmp_path):
    """The defect config.server exists for: the baseline the test above is measured against."""
    process, client = serve_busy("daphne", tmp_path)
    try:
        process.send_signal(signal.SIGTERM)
        with pytest.raises(subprocess.TimeoutExpired):
            process.wait(timeout=3)
    finally:
        client.close()
        process.kill()
        process.wait()
