"""The real servers' answers (``manage.py serve`` runs gunicorn for HTTP and daphne for websockets, which
answers HTTP too; config/http_limits/gunicorn.py and server.py): what gunicorn answered in HTML (a request
line past its 8 KB cap, headers too large, a malformed request) or Twisted refused without a word (a
request line past 16 KB), with an empty 400 (a multipart body without a boundary, headers past 16 KB) or
only after buffering it (any body), now gets the JSON envelope at once, from both servers, and a chunked
JSON body is read like any other."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from django.conf import settings

from tests.workers import REPO, database_url, wait_until

BODY_CAP = 100_000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def serving(django_db_setup, django_db_blocker, tmp_path_factory):
    """``manage.py serve --no-worker`` on the test database, with a small overall body cap: its HTTP port
    (gunicorn) and its websockets' port (daphne)."""
    port, ws_port = free_port(), free_port()
    log = tmp_path_factory.mktemp("server") / "serve.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
        "REQUEST_BODY_MAX_BYTES": str(BODY_CAP),
        "WEB_WORKERS": "1",
        "WEB_THREADS": "2",
    }
    command = [sys.executable, "manage.py", "serve", "--no-worker", "--host", "127.0.0.1", "--port", str(port)]
    with log.open("w") as handle:
        process = subprocess.Popen(
            [*command, "--ws-port", str(ws_port)],
            cwd=REPO,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def answering(port: int) -> bool:
        if process.poll() is not None:
            raise AssertionError(f"serve exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            return exchange(port, request_head("GET", "/healthz"), timeout=2)[0] == 200
        except OSError:
            return False

    wait_until(lambda: answering(port) and answering(ws_port), timeout=60, interval=0.1, message="the servers")
    yield {"gunicorn": port, "daphne": ws_port}
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


@pytest.fixture(params=["gunicorn", "daphne"])
def server(request, serving) -> int:
    """The port of each server ``serve`` runs: gunicorn (the HTTP API) and daphne (websockets, and HTTP)."""
    return serving[request.param]


def exchange(port: int, head: bytes, body: bytes = b"", *, timeout: float = 10.0) -> tuple[int, dict, bytes, float]:
    """Send a raw request, read the whole answer: (status, headers, body, seconds to the first byte)."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        connection.sendall(head)
        if body:
            try:
                connection.sendall(body)
            except OSError:
                pass  # the server answered and stopped reading: the answer is what counts
        received = b""
        first = None
        while chunk := connection.recv(65536):
            first = first or time.monotonic() - started
            received += chunk
    status_line, _, rest = received.partition(b"\r\n")
    header_block, _, payload = rest.partition(b"\r\n\r\n")
    headers = {}
    for line in header_block.split(b"\r\n"):
        name, _, value = line.partition(b":")
        headers[name.strip().lower().decode()] = value.strip().decode()
    if headers.get("transfer-encoding") == "chunked":
        payload = dechunk(payload)
    return int(status_line.split()[1]), headers, payload, first or 0.0


def dechunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            break
        out, data = out + data[:size], data[size + 2 :]
    return out


def request_head(method: str, target: str, *headers: str) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1", "Connection: close", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def envelope(payload: bytes, code: str) -> dict:
    body = json.loads(payload)
    assert {"detail", "code", "errors"} <= set(body) and body["code"] == code, body
    return body


def test_a_request_line_past_the_servers_limit_is_414_with_the_envelope(server):
    status, headers, payload, _ = exchange(server, request_head("GET", "/v1/datasets?name=" + "a" * 20_000))
    assert status == 414 and headers["content-type"] == "application/json"
    assert envelope(payload, "url_too_long")["limit"] >= settings.REQUEST_MAX_URL_BYTES


def test_a_url_between_the_two_limits_gets_djangos_414(server):
    status, _, payload, _ = exchange(server, request_head("GET", "/v1/datasets?name=" + "a" * 10_000))
    assert status == 414
    assert envelope(payload, "url_too_long")["limit"] == settings.REQUEST_MAX_URL_BYTES


def test_headers_past_the_limit_are_431_with_the_envelope(server):
    status, _, payload, _ = exchange(server, request_head("GET", "/v1/datasets", "X-Big: " + "a" * 20_000))
    assert status == 431
    envelope(payload, "headers_too_large")


def test_a_malformed_request_line_is_400_with_the_envelope(server):
    status, _, payload, _ = exchange(server, b"NOT HTTP AT ALL\r\n\r\n")
    assert status == 400
    envelope(payload, "malformed_request")


def test_a_multipart_body_without_a_boundary_is_400_with_the_envelope(server):
    head = request_head("POST", "/v1/auth/obtain", "Content-Type: multipart/form-data", "Content-Length: 3")
    status, _, payload, _ = exchange(server, head, b"abc")
    assert status == 400
    assert "boundary" in envelope(payload, "malformed_request")["detail"]


@pytest.mark.parametrize("expect", [True, False])
def test_a_body_declared_past_the_cap_is_413_before_it_is_sent(server, expect):
    size = 50 * BODY_CAP
    headers = ["Content-Type: application/data", f"Content-Length: {size}"] + (
        ["Expect: 100-continue"] if expect else []
    )
    # With Expect, the client waits for the answer before sending anything; without, it sends on.
    status, _, payload, _ = exchange(
        server, request_head("POST", "/v1/datasets/1/files/a.bin", *headers), b"" if expect else b"x" * size
    )
    assert status == 413
    answer = envelope(payload, "body_too_large")
    assert answer["limit"] == BODY_CAP and str(size) in answer["detail"]


def chunked(body: bytes, piece: int = 8192) -> bytes:
    parts = [b"%x\r\n%s\r\n" % (len(body[i : i + piece]), body[i : i + piece]) for i in range(0, len(body), piece)]
    return b"".join(parts) + b"0\r\n\r\n"


def test_a_chunked_body_past_the_cap_is_413(server):
    head = request_head("POST", "/v1/auth/obtain", "Content-Type: application/json", "Transfer-Encoding: chunked")
    status, _, payload, _ = exchange(server, head, chunked(b"x" * 3 * BODY_CAP))
    assert status == 413
    assert envelope(payload, "body_too_large")["limit"] == BODY_CAP


def test_a_chunked_json_body_is_parsed(server):
    # Without a length, DRF took the body for empty ("username: required"); now it is read and checked.
    head = request_head("POST", "/v1/auth/obtain", "Content-Type: application/json", "Transfer-Encoding: chunked")
    status, _, payload, _ = exchange(server, head, chunked(json.dumps({"username": "\x00", "password": "x"}).encode()))
    assert status == 400
    assert [problem["path"] for problem in envelope(payload, "invalid_text")["errors"]] == ["username"]
