"""Benchmark of ``/v1/job-templates`` over HTTP against a running server, with SQL queries per request.

Run with ``.venv/bin/python bench/api.py [--sizes 39,1000] [--requests 200] [--wrk-seconds 5] [--port 8765]``.

What it does, from nothing: makes a fresh database (a new PostgreSQL database on the server named by
``DATABASE_URL`` when it is set, dropped afterwards; else a temporary SQLite file), migrates it, seeds
the catalogue, imports ``templates/`` (UFDL's 29 and the built-in ones), creates an admin and a user,
and starts the ASGI server the service ships with (one ``daphne`` process, as ``manage.py serve``
runs it; ``--server-command`` another) on a free port (``--port`` a given one). It prints the settings
that shape the figures first: the server command, its processes and threads, the database vendor and
its connection settings (``DB_CONN_MAX_AGE``, health checks, pool). Then, for each number of templates
(variants of the UFDL templates, imported through the import service and then analysed, as a bulk
import leaves them, make up the count), it measures:

* list (``POST /v1/job-templates/list``, no body: every template), retrieve, get-all-parameters (the
  TensorFlow template: docker images as ``Name``/``PK``/row types), matching (``Predict`` for an image
  classification dataset) as the user, and import (a new version each time) as the admin;
* latency: one keep-alive HTTP/1.1 connection from this process, requests one after another; the
  median and 90th percentile, and requests/second = requests / elapsed time. A Python client costs
  about 1.5-2 ms per call on these machines, so these rates understate the server. The connection is
  reopened (and the request sent again, once) when the server has dropped it while it sat idle, as
  daphne does after 60 s (Twisted's idle timeout) while a large size is being imported;
* requests/second and mean latency with ``wrk`` (``apt-get install wrk``; skipped with a note when it
  is not installed), a Lua script supplying the method, the body and the bearer token; imports over
  one connection (concurrent imports of one name race for its next version);
* a baseline row, ``GET /v1/domains/1``: what the server and the framework cost for a trivial read;
* SQL queries per request, counted in this process with ``CaptureQueriesContext`` through Django's test
  client for the same requests on the same database (the server itself exposes no such figure).

Finally it prints the ratios of the largest size to the smallest.
"""

from __future__ import annotations

import argparse
import copy
import http.client
import json
import os
import platform
import re
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run as a script from anywhere

from bench.common import Process, fresh_database, wait_for  # noqa: E402

PYTHON = sys.executable
ADMIN, USER, PASSWORD = "bench-admin", "bench-user", "bench-password-1"
TF_TRAIN = "tensorflow_1_14_image_class_train"
IC_DATASET = "PK<Dataset<Domain<'Image Classification'>>>"
DOGS_TRAIN_FILE = REPO / "templates" / "ufdl" / "image-classification__0010_dogs_dummy_image_class_train.json"


# --- the database and the server -------------------------------------------------------------------


def manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([PYTHON, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


DAPHNE = "{python} -m daphne -b 127.0.0.1 -p {port} config.asgi:application"


def server_command(template: str, port: int) -> list[str]:
    """The server's command line: ``template`` with ``{python}`` (this interpreter) and ``{port}`` filled in."""
    return [part.format(python=PYTHON, port=port) for part in shlex.split(template)]


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def start_server(env: dict[str, str], port: int, log: Path, *, command: str = DAPHNE) -> Process:
    """The server started on ``port`` (free: a server already there would answer the health check) and healthy."""
    if not port_is_free(port):
        raise SystemExit(f"port {port} is in use: choose another --port, or none for a free one")
    server = Process(server_command(command, port), env=env, log=log)

    def healthy() -> bool:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            connection.request("GET", "/healthz")
            return connection.getresponse().status == 200
        except OSError:
            return False
        finally:
            connection.close()

    try:
        wait_for(healthy, timeout=30, interval=0.2, what=f"the server (see {log})", processes=[server])
    except SystemExit:
        server.stop()
        raise
    return server


def process_group(pgid: int) -> dict[int, int]:
    """The processes of the process group ``pgid`` and their thread counts (Linux ``/proc``; elsewhere empty)."""
    members: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid:  # after the command name: state, ppid, pgrp, …, num_threads (17th)
                members[int(stat.parent.name)] = int(fields[17])
        except (OSError, IndexError, ValueError):
            continue  # a process that ended meanwhile
    return members


def describe_settings(server: Process, command: list[str]) -> str:
    """The settings that shape the figures, as the server process sees them (the same environment)."""
    from django.conf import settings
    from django.db import connection

    database = settings.DATABASES["default"]
    pool = (database.get("OPTIONS") or {}).get("pool")
    members = process_group(server.process.pid)
    processes = (
        f"{len(members)} process(es), {sum(members.values())} thread(s) in all" if members else "processes not counted"
    )
    max_age = os.environ.get("DB_CONN_MAX_AGE", "(unset: the default)")
    version = ""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            version = f" {cursor.fetchone()[0]}"
    return "\n".join(
        [
            f"server: {shlex.join(command).replace(PYTHON, 'python')} ({processes} once healthy)",
            f"database: {connection.vendor}{version}; DB_CONN_MAX_AGE={max_age} → CONN_MAX_AGE="
            f"{database['CONN_MAX_AGE']}, CONN_HEALTH_CHECKS={database.get('CONN_HEALTH_CHECKS', False)}, "
            f"pool: {pool or 'none'}",
            f"DEBUG={settings.DEBUG}; Python {platform.python_version()}, {os.cpu_count()} CPUs",
        ]
    )


# --- the HTTP side ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One request: as whom, what, and (for POST) the JSON body."""

    name: str
    method: str
    path: str
    body: dict | None = None
    as_admin: bool = False


# What http.client raises on the next request over a keep-alive connection the server closed while it sat
# idle: the answer is the close (RemoteDisconnected) or a reset, or the request cannot be written at all.
DROPPED = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


class ReconnectingConnection:
    """A keep-alive HTTP/1.1 connection to 127.0.0.1 that is reopened, and the request sent again once, when
    the server has dropped it while idle (daphne closes idle connections after 60 s)."""

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
            self.connection.close()
            self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            self.reconnects += 1
            return self._exchange(method, path, body=body, headers=headers)

    def _exchange(self, method: str, path: str, *, body: bytes | None, headers: dict[str, str]) -> tuple[int, bytes]:
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        return response.status, response.read()

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
        return self.connection.exchange(method, path, body=data, headers=headers)


@dataclass
class Figures:
    items: int = 0
    size: int = 0
    median_ms: float = 0.0
    p90_ms: float = 0.0
    python_rps: float = 0.0
    wrk_rps: float | None = None
    wrk_latency_ms: float | None = None
    queries: int = 0
    notes: list[str] = field(default_factory=list)


def measure_http(client: KeepAliveClient, call: Call, token: str, *, requests: int, budget: float) -> Figures:
    """Latencies of up to ``requests`` sequential calls (fewer if ``budget`` seconds run out, at least 5)."""
    status, content = client.send(call.method, call.path, token=token, body=call.body)  # warm up
    if status != 200:
        raise SystemExit(f"{call.name}: {status} {content[:300]!r}")
    answer = json.loads(content)
    latencies = []
    started = time.perf_counter()
    while len(latencies) < requests and (len(latencies) < 5 or time.perf_counter() - started < budget):
        before = time.perf_counter()
        status, content = client.send(call.method, call.path, token=token, body=call.body)
        latencies.append(time.perf_counter() - before)
        if status != 200:
            raise SystemExit(f"{call.name}: {status} {content[:300]!r}")
    elapsed = time.perf_counter() - started
    latencies.sort()
    return Figures(
        items=len(answer) if isinstance(answer, list | dict) else 1,
        size=len(content),
        median_ms=statistics.median(latencies) * 1000,
        p90_ms=latencies[int(0.9 * (len(latencies) - 1))] * 1000,
        python_rps=len(latencies) / elapsed,
    )


WRK_SCRIPT = """
wrk.method = {method}
wrk.body = {body}
wrk.headers["Authorization"] = {authorization}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
"""


def lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string is a valid Lua string literal for this ASCII content


def run_wrk(port: int, call: Call, token: str, *, seconds: int, connections: int, workdir: Path):
    """(requests/second, mean latency in ms, a note) from wrk, or Nones with the reason."""
    if shutil.which("wrk") is None:
        return None, None, "wrk not installed"
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
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "30s",
        "-s",
        str(script),
        f"http://127.0.0.1:{port}{call.path}",
    ]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    latency = re.search(r"Latency\s+([\d.]+)(us|ms|s)", output)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[latency.group(2)]
    failures = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors:.*", output)
    note = ""
    if failures:
        note += f"{failures.group(1)} non-2xx answers "
    if errors:
        note += errors.group(0)
    return rps, float(latency.group(1)) * scale, note.strip()


# --- the in-process side (Django, same database) ---------------------------------------------------


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    import django

    django.setup()


def count_queries(call: Call, users: dict) -> int:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from rest_framework_simplejwt.tokens import RefreshToken

    user = users["admin" if call.as_admin else "user"]
    token = str(RefreshToken.for_user(user).access_token)
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
    with CaptureQueriesContext(connection) as captured:
        if call.body is None:
            response = getattr(client, call.method.lower())(call.path)
        else:
            response = getattr(client, call.method.lower())(call.path, call.body, content_type="application/json")
    if response.status_code != 200:
        raise SystemExit(f"{call.name} (in process): {response.status_code} {response.content[:300]!r}")
    return len(captured)


def grow_to(count: int) -> None:
    """Import variants of the UFDL templates (every tenth a meta-template) until there are ``count``."""
    from jobtemplates.models import JobTemplate
    from jobtemplates.services.templates import template_import
    from jobtemplates.services.templates.statistics import template_tables_analyse

    bodies = [json.loads(path.read_text()) for path in sorted((REPO / "templates" / "ufdl").glob("*.json"))]
    meta = {
        "name": "train_then_predict",
        "licence": "Apache 2.0",
        "domain": "ic",
        "specific": {
            "nodes": {
                "train": {"name": "dogs_dummy_image_class_train"},
                "predict": {"name": "dogs_dummy_image_class_predict"},
            },
            "dependencies": [{"from_node": "train", "from_output": "model", "to_node": "predict", "to_input": "model"}],
        },
    }
    index = JobTemplate.objects.active().count()
    while index < count:
        body = copy.deepcopy(meta if index % 10 == 9 else bodies[index % len(bodies)])
        body.pop("version", None)
        body["name"] = f"{body['name']}-variant-{index}"
        template_import(data=body, creator=None)
        index += 1
    # As a bulk import leaves them (import_templates, bundles): the planner knows the tables' size.
    template_tables_analyse()


# --- the run ---------------------------------------------------------------------------------------


def calls(tf_pk: int) -> list[Call]:
    import_body = json.loads(DOGS_TRAIN_FILE.read_text())
    import_body.pop("version")
    import_body["name"] = "bench_import"
    query = urlencode({"dataset": IC_DATASET}, quote_via=quote)
    return [
        # Not ours: a bearer-authenticated read of one small row, the server's and framework's own cost.
        Call("baseline (domain)", "GET", "/v1/domains/1"),
        Call("list", "POST", "/v1/job-templates/list"),
        Call("retrieve", "GET", f"/v1/job-templates/{tf_pk}"),
        Call("get-all-parameters", "GET", f"/v1/job-templates/{tf_pk}/get-all-parameters"),
        Call("matching", "GET", f"/v1/job-templates/get-all-matching-templates/Predict?{query}"),
        Call("import", "POST", "/v1/job-templates/import", import_body, as_admin=True),
    ]


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--sizes", default="39,1000", help="numbers of templates, comma-separated")
    arguments.add_argument("--requests", type=int, default=200, help="sequential requests per route (at most)")
    arguments.add_argument("--budget", type=float, default=10.0, help="seconds per route for sequential requests")
    arguments.add_argument("--wrk-seconds", type=int, default=5)
    arguments.add_argument("--wrk-connections", type=int, default=4)
    arguments.add_argument("--port", type=int, default=None, help="serve on this port (default: a free one)")
    arguments.add_argument(
        "--server-command",
        default=DAPHNE,
        help="the server's command line, {python} and {port} filled in (default: one daphne process, %(default)s)",
    )
    arguments.add_argument("--keep", action="store_true", help="keep the database and work folder")
    arguments.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for the server and the setup (e.g. DB_CONN_MAX_AGE=0); repeatable",
    )
    options = arguments.parse_args()
    sizes = sorted(int(size) for size in options.sizes.split(","))

    workdir = Path(tempfile.mkdtemp(prefix="bench-api-"))
    database_url, drop_database = fresh_database(workdir, "bench_api")
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "VAR_DIR": str(workdir / "var"),
        "DEBUG": "0",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "JWT_ACCESS_LIFETIME_SECONDS": "7200",
        "ADMIN_USERNAME": ADMIN,
        "ADMIN_PASSWORD": PASSWORD,
        "LOG_LEVEL": "WARNING",
        **dict(setting.split("=", 1) for setting in options.env),
    }
    (workdir / "var" / "static").mkdir(parents=True)
    server = None
    try:
        started = time.perf_counter()
        manage(env, "migrate", "--noinput")
        manage(env, "seed_catalogue")
        manage(env, "import_templates", "templates")
        manage(env, "ensure_admin")
        setup_django(env)
        from django.contrib.auth import get_user_model

        from jobtemplates.models import JobTemplate

        user_model = get_user_model()
        regular = user_model.objects.create_user(username=USER, password=PASSWORD)
        users = {"admin": user_model.objects.get(username=ADMIN), "user": regular}
        tf_pk = JobTemplate.objects.get(name=TF_TRAIN).pk
        port = options.port or free_port()
        server = start_server(env, port, workdir / "server.log", command=options.server_command)
        print(f"prepared in {time.perf_counter() - started:.1f} s, serving on port {port}")
        print(describe_settings(server, server_command(options.server_command, port)))

        client = KeepAliveClient(port)
        tokens = {}
        for role, username in (("admin", ADMIN), ("user", USER)):
            status, content = client.send("POST", "/v1/auth/obtain", body={"username": username, "password": PASSWORD})
            tokens[role] = json.loads(content)["access"]

        results: dict[int, dict[str, Figures]] = {}
        for size in sizes:
            grow_to(size)
            active = JobTemplate.objects.active().count()
            print(
                f"\n{active} templates (requests one after another on one keep-alive connection; wrk: 1 thread, "
                f"{options.wrk_connections} connections (import: 1), {options.wrk_seconds} s)"
            )
            print(
                f"{'route':<20}{'items':>6}{'bytes':>10}{'median ms':>11}{'p90 ms':>9}{'req/s':>8}"
                f"{'wrk req/s':>11}{'wrk ms':>9}{'SQL':>5}"
            )
            results[size] = {}
            for call in calls(tf_pk):
                token = tokens["admin" if call.as_admin else "user"]
                figures = measure_http(client, call, token, requests=options.requests, budget=options.budget)
                # Concurrent imports of one name race for the next version (the service retries, then
                # answers 409): imports are driven over one connection.
                connections = 1 if call.as_admin else options.wrk_connections
                figures.wrk_rps, figures.wrk_latency_ms, note = run_wrk(
                    port,
                    call,
                    token,
                    seconds=options.wrk_seconds,
                    connections=connections,
                    workdir=workdir,
                )
                figures.queries = count_queries(call, users)
                results[size][call.name] = figures
                wrk_rps = f"{figures.wrk_rps:.1f}" if figures.wrk_rps is not None else "-"
                wrk_ms = f"{figures.wrk_latency_ms:.2f}" if figures.wrk_latency_ms is not None else "-"
                print(
                    f"{call.name:<20}{figures.items:>6}{figures.size:>10}{figures.median_ms:>11.2f}"
                    f"{figures.p90_ms:>9.2f}{figures.python_rps:>8.1f}{wrk_rps:>11}{wrk_ms:>9}{figures.queries:>5}"
                    + (f"  ({note})" if note else "")
                )
            # Imports add versions of one template: keep the count exact for the next size.
            JobTemplate.objects.filter(name="bench_import").delete()

        if len(sizes) > 1:
            small, large = results[sizes[0]], results[sizes[-1]]
            print(f"\nratios, {sizes[-1]} vs {sizes[0]} templates (median latency; wrk req/s; SQL queries)")
            for name in large:
                wrk = (
                    f"{large[name].wrk_rps / small[name].wrk_rps:.2f}"
                    if large[name].wrk_rps and small[name].wrk_rps
                    else "-"
                )
                print(
                    f"{name:<20} latency x{large[name].median_ms / small[name].median_ms:.2f}   req/s x{wrk}   "
                    f"queries {small[name].queries} -> {large[name].queries}"
                )
        if client.connection.reconnects:
            print(f"\nthe server dropped the idle connection {client.connection.reconnects} time(s); reopened")
    finally:
        if server is not None:
            server.stop()
        if not options.keep:
            from django.conf import settings

            if settings.configured:
                from django.db import connections

                connections.close_all()
            drop_database()
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            print(f"kept: {database_url}, {workdir}")


if __name__ == "__main__":
    main()
