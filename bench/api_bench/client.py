"""The HTTP side: one keep-alive connection from this process (sequential latencies), and wrk (throughput,
and the latency distribution under concurrent clients)."""

from __future__ import annotations

import http.client
import json
import re
import shutil
import statistics
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Call:
    """One request: as whom, what, and (for POST) the JSON body."""

    name: str
    method: str
    path: str
    body: dict | None = None
    as_admin: bool = False
    # Concurrent imports of one name race for its next version: driven over one connection.
    serial: bool = False


# What http.client raises on the next request over a keep-alive connection the server closed while it sat
# idle: the answer is the close (RemoteDisconnected) or a reset, or the request cannot be written at all.
DROPPED = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class ReconnectingConnection:
    """A keep-alive HTTP/1.1 connection to 127.0.0.1 that is reopened, and the request sent again once, when
    the server has dropped it while idle (daphne closes idle connections after 60 s, gunicorn after
    ``WEB_KEEPALIVE_SECONDS``)."""

    def __init__(self, port: int, *, timeout: float = 120):
        self.port, self.timeout = port, timeout
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        self.reconnects = 0

    def exchange(self, method: str, path: str, *, body: bytes | None, headers: dict[str, str]) -> tuple[int, bytes]:
        """(status, body) of one request."""
        try:
            return self._exchange(method, path, body=body, headers=headers)
        except DROPPED:
            # An idle drop means the server never saw this request: sending it again is safe. A second
            # failure on a fresh connection is a real one.
            self.reopen()
            self.reconnects += 1
            return self._exchange(method, path, body=body, headers=headers)

    def reopen(self) -> None:
        self.connection.close()
        self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)

    def _exchange(self, method: str, path: str, *, body: bytes | None, headers: dict[str, str]) -> tuple[int, bytes]:
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        content = response.read()
        if response.getheader("Connection", "").lower() == "close":
            self.reopen()  # the server closes after this answer (e.g. an error): the next request needs a new one
        return response.status, content

    def close(self) -> None:
        self.connection.close()


class KeepAliveClient:
    """One persistent HTTP/1.1 connection (reopened when the server drops it while idle)."""

    def __init__(self, port: int):
        self.connection = ReconnectingConnection(port)

    def send(self, method: str, path: str, *, token: str | None = None, body: dict | None = None):
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        try:
            return self.connection.exchange(method, path, body=data, headers=headers)
        except (OSError, http.client.HTTPException) as error:
            # A failure on the fresh connection too (e.g. a server restarting while code changes under it):
            # reported as the route's failure, and the next request starts on a new connection.
            self.connection.reopen()
            return 0, f"{type(error).__name__}: {error}".encode()


class RouteFailed(Exception):
    """A route answered something other than 2xx (reported, and the run goes on)."""

    def __init__(self, name: str, status: int, content: bytes):
        super().__init__(f"{name}: {status} {content[:200]!r}")
        self.status, self.content = status, content


@dataclass
class Figures:
    items: int = 0
    size: int = 0
    median_ms: float = 0.0
    p90_ms: float = 0.0
    count: int = 0
    wrk_rps: float | None = None
    queries: int | str = "-"
    notes: list[str] = field(default_factory=list)
    failure: str = ""


def items_of(answer) -> int:
    """Array length, a page's results, or 1 for any other object."""
    if isinstance(answer, list):
        return len(answer)
    if isinstance(answer, dict) and isinstance(answer.get("results"), list):
        return len(answer["results"])
    return 1


def measure_http(client: KeepAliveClient, call: Call, token: str, *, requests: int, budget: float) -> Figures:
    """Latencies of up to ``requests`` sequential calls (fewer if ``budget`` seconds run out, at least 5).
    A non-2xx answer raises ``RouteFailed``."""
    status, content = client.send(call.method, call.path, token=token, body=call.body)  # warm up
    if not 200 <= status < 300:
        raise RouteFailed(call.name, status, content)
    try:
        answer = json.loads(content)
    except ValueError:
        answer = None  # e.g. an SVG
    latencies = []
    started = time.perf_counter()
    while len(latencies) < requests and (len(latencies) < 5 or time.perf_counter() - started < budget):
        before = time.perf_counter()
        status, content = client.send(call.method, call.path, token=token, body=call.body)
        latencies.append(time.perf_counter() - before)
        if not 200 <= status < 300:
            raise RouteFailed(call.name, status, content)
    latencies.sort()
    return Figures(
        items=items_of(answer),
        size=len(content),
        median_ms=statistics.median(latencies) * 1000,
        p90_ms=latencies[int(0.9 * (len(latencies) - 1))] * 1000,
        count=len(latencies),
    )


WRK_SCRIPT = """
wrk.method = {method}
wrk.body = {body}
wrk.headers["Authorization"] = {authorization}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
"""
UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


@dataclass
class WrkResult:
    rps: float | None = None
    requests: int = 0
    p50_ms: float | None = None
    p99_ms: float | None = None
    note: str = ""


def lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid Lua string literal for this ASCII content


def _duration_ms(number: str, unit: str) -> float:
    return float(number) * UNITS_MS[unit]


def run_wrk(port: int, call: Call, token: str, *, seconds: int, connections: int, workdir: Path) -> WrkResult:
    """``wrk -t{min(2, connections)} -c{connections} --latency``: requests/second, p50 and p99 (a note on
    non-2xx answers and socket errors), or no figures and the reason."""
    if shutil.which("wrk") is None:
        return WrkResult(note="wrk not installed")
    script = workdir / "wrk.lua"
    script.write_text(
        WRK_SCRIPT.format(
            method=lua_string(call.method),
            body=lua_string(json.dumps(call.body) if call.body else ""),
            authorization=lua_string(f"Bearer {token}"),
        )
    )
    command = [
        "wrk",
        f"-t{min(2, connections)}",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "30s",
        "--latency",
        "-s",
        str(script),
        f"http://127.0.0.1:{port}{call.path}",
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    output = done.stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if done.returncode != 0 or rps is None:
        return WrkResult(note=f"wrk failed ({done.returncode}): {(done.stderr or output)[:200]!r}")
    percentiles = {
        int(match.group(1)): _duration_ms(match.group(2), match.group(3))
        for match in re.finditer(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.MULTILINE)
    }
    notes = []
    completed = re.search(r"(\d+) requests in", output)
    requests = int(completed.group(1)) if completed else 0
    if requests < 20:
        notes.append(f"{requests} requests in {seconds} s")
    failures = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    if failures:
        notes.append(f"{failures.group(1)} non-2xx answers")
    errors = re.search(r"Socket errors:.*", output)
    if errors:
        notes.append(errors.group(0))
    if requests == 0:
        return WrkResult(note="; ".join(notes))
    return WrkResult(float(rps.group(1)), requests, percentiles.get(50), percentiles.get(99), "; ".join(notes))
