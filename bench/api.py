"""Benchmark of ``/v1/job-templates`` over HTTP against a running server, as ratios to a floor view it serves.

Run with ``.venv/bin/python bench/api.py [--sizes 39,1000,10000] [--requests 200] [--wrk-seconds 5] [--port 8765]``.

What it does, from nothing: makes a fresh database (a new PostgreSQL database on the server named by
``DATABASE_URL`` when it is set, dropped afterwards; else a temporary SQLite file), migrates it, seeds
the catalogue, imports ``templates/`` (UFDL's 29 and the built-in ones), creates an admin, a user and a
dataset of the user's, and starts the product's HTTP server (gunicorn with config/gunicorn_conf.py once
it exists, else one daphne process; ``--server-command`` another) on a free port (``--port`` a given
one), with ``DJANGO_SETTINGS_MODULE=bench.floor_settings``: the service's settings and URLs plus
``/bench/floor/<pk>`` (a DRF view, the project's JWT authentication and ``IsAuthenticated``, reading one
domain row: the floor of any authenticated call in this server) and ``/bench/settings`` (the database
settings as the server's processes see them). It prints those settings first. Then, for each number of
templates (variants of the UFDL templates, imported through the import service and then analysed, as a
bulk import leaves them, make up the count), every job-template route (see ``fixtures.calls``): items,
bytes, median and p90 latency of sequential keep-alive calls from this process, the ratio of the median
to the floor's median, the SQL statements of the same request counted in this process
(``CaptureQueriesContext`` through Django's test client, same database), and wrk's requests/second.
A route that fails is reported (status and the start of its body) and the run goes on.

At the largest size, also: the server's resident memory (the sum over its process group) before, at
its peak during (sampled every 20 ms) and after one full list; and for the floor and retrieve, 1, 10
and 50 concurrent clients (``wrk -t2 -cN --latency``: req/s, p50, p99). It ends with issue 13's
targets, each measured, its target and PASS/MISS.

No Celery worker runs: create-job's jobs are queued (``queue_anyway``) on a queue of the run's own,
removed from Redis afterwards.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shlex
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # run as a script from anywhere

from bench.api_bench import fixtures, report  # noqa: E402
from bench.api_bench.client import (  # noqa: E402
    Call,
    Figures,
    KeepAliveClient,
    RouteFailed,
    WrkResult,
    measure_http,
    run_wrk,
)
from bench.api_bench.fixtures import ADMIN, PASSWORD, USER, Subjects  # noqa: E402
from bench.api_bench.server import (  # noqa: E402
    PYTHON,
    MemorySampler,
    default_server_command,
    describe_group,
    free_port,
    group_rss,
    server_command,
    start_server,
)
from bench.common import fresh_database  # noqa: E402

CLIENTS = (1, 10, 50)
CONCURRENCY_ROUTES = ("floor", "retrieve")
WRK_MAX_SECONDS = 30


def options_parsed() -> argparse.Namespace:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--sizes", default="39,1000,10000", help="numbers of templates, comma-separated")
    arguments.add_argument("--requests", type=int, default=200, help="sequential requests per route (at most)")
    arguments.add_argument("--budget", type=float, default=10.0, help="seconds per route for sequential requests")
    arguments.add_argument("--wrk-seconds", type=int, default=5, help="seconds of each wrk run")
    arguments.add_argument("--wrk-connections", type=int, default=4, help="connections of the per-route wrk run")
    arguments.add_argument("--port", type=int, default=None, help="serve on this port (default: a free one)")
    arguments.add_argument(
        "--server-command",
        default=default_server_command(),
        help="the server's command line, {python} and {port} filled in (default: %(default)s)",
    )
    arguments.add_argument("--keep", action="store_true", help="keep the database and work folder")
    arguments.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for the server and the setup (e.g. DB_CONN_MAX_AGE=0, WEB_WORKERS=2); repeatable",
    )
    return arguments.parse_args()


def server_settings(client: KeepAliveClient, token: str, command: list[str], pgid: int) -> str:
    """The settings that shape the figures: as the server's processes report them, and this machine."""
    status, content = client.send("GET", "/bench/settings", token=token)
    seen = json.loads(content) if status == 200 else {"error": f"{status} {content[:200]!r}"}
    return "\n".join(
        [
            f"server: {shlex.join(command).replace(PYTHON, 'python')} ({describe_group(pgid)} once healthy)",
            f"server's settings (/bench/settings): {json.dumps(seen)}",
            f"environment: WEB_WORKERS={os.environ.get('WEB_WORKERS', '(unset)')}, "
            f"WEB_THREADS={os.environ.get('WEB_THREADS', '(unset)')}, "
            f"DB_CONN_MAX_AGE={os.environ.get('DB_CONN_MAX_AGE', '(unset)')}; "
            f"Python {platform.python_version()}, {os.cpu_count()} CPUs",
        ]
    )


def measure_route(
    client: KeepAliveClient, call: Call, subjects: Subjects, tokens: dict, options, workdir: Path, port: int
) -> Figures:
    """Sequential latencies, wrk, SQL; a failure is recorded on the figures, not raised."""
    token = tokens["admin" if call.as_admin else "user"]
    try:
        figures = measure_http(client, call, token, requests=options.requests, budget=options.budget)
    except RouteFailed as failure:
        text = failure.content[:200].decode(errors="replace")
        return Figures(failure=f"HTTP {failure.status}: {text!r}")
    connections = 1 if call.serial else options.wrk_connections
    # Long enough for a slow route's concurrent calls to complete a few times (wrk counts only completed ones).
    seconds = max(options.wrk_seconds, min(WRK_MAX_SECONDS, math.ceil(figures.median_ms / 1000 * connections * 3)))
    result = run_wrk(port, call, token, seconds=seconds, connections=connections, workdir=workdir)
    figures.wrk_rps = result.rps
    if result.note:
        figures.notes.append(f"wrk: {result.note}")
    figures.queries = fixtures.count_queries(call, subjects)
    return figures


def measure_memory(port: int, pgid: int, call: Call, token: str) -> str:
    """The server's resident memory before, at its peak during, and just after one request (its own connection)."""
    client = KeepAliveClient(port)
    before = group_rss(pgid)
    with MemorySampler(pgid) as sampler:
        started = time.perf_counter()
        status, content = client.send(call.method, call.path, token=token, body=call.body)
        elapsed = time.perf_counter() - started
    after = group_rss(pgid)
    time.sleep(1)
    settled = group_rss(pgid)
    client.connection.close()
    answer = f"HTTP {status}, {len(content):,} bytes in {elapsed * 1000:.0f} ms"
    return (
        f"server memory (resident, whole process group) around one {call.name} ({answer}): before "
        f"{report.mebibytes(before)}, peak {report.mebibytes(max(sampler.peak, after))} "
        f"({sampler.samples} samples every 20 ms), after {report.mebibytes(after)}, 1 s later "
        f"{report.mebibytes(settled)}"
    )


def measure_concurrency(port: int, call: Call, token: str, options, workdir: Path) -> dict[int, WrkResult]:
    return {
        clients: run_wrk(port, call, token, seconds=options.wrk_seconds, connections=clients, workdir=workdir)
        for clients in CLIENTS
    }


def forget_queue(broker: str, queue: str) -> None:
    """Remove the run's own queue from a shared Redis (an fsq:// queue goes with the working folder)."""
    if not broker.startswith(("redis://", "rediss://")):
        return
    import redis

    client = redis.Redis.from_url(broker)
    for key in client.scan_iter(match=f"*{queue}*"):
        client.delete(key)


def run(options, env: dict[str, str], workdir: Path) -> None:
    sizes = sorted(int(size) for size in options.sizes.split(","))
    started = time.perf_counter()
    fixtures.prepare_database(env)
    fixtures.setup_django(env)
    subjects = fixtures.make_subjects()
    port = options.port or free_port()
    command = server_command(options.server_command, port)
    server = start_server(env, port, workdir / "server.log", command=options.server_command)
    try:
        pgid = server.process.pid
        print(f"prepared in {time.perf_counter() - started:.1f} s, serving on port {port}")
        client = KeepAliveClient(port)
        tokens = {}
        for role, username in (("admin", ADMIN), ("user", USER)):
            status, content = client.send("POST", "/v1/auth/obtain", body={"username": username, "password": PASSWORD})
            if status != 200:
                raise SystemExit(f"could not obtain a token for {username}: {status} {content[:300]!r}")
            tokens[role] = json.loads(content)["access"]
        print(server_settings(client, tokens["user"], command, pgid))
        print(
            f"create-job: no Celery worker runs, its jobs stay queued (queue_anyway) on the run's own queue "
            f"{env['CELERY_TASK_DEFAULT_QUEUE']} (removed from Redis at the end)"
        )
        print(f"filtered list: {fixtures.filter_spec(subjects)}")

        from jobtemplates.models import JobTemplate

        results: dict[int, dict[str, Figures]] = {}
        concurrency = {}
        for size in sizes:
            fixtures.grow_to(size)
            active = JobTemplate.objects.active().count()
            print(
                f"\n{active} templates (medians of up to {options.requests} requests one after another on one "
                f"keep-alive connection; ×floor: median / the floor's median; SQL: in process; wrk: "
                f"{options.wrk_connections} connections (import: 1), {options.wrk_seconds} s or, for a slow route, "
                f"up to {WRK_MAX_SECONDS} s)"
            )
            if size == sizes[-1]:
                full = next(call for call in fixtures.calls(subjects) if call.name == "list (full)")
                print(measure_memory(port, pgid, full, tokens["user"]), flush=True)
            print(report.route_header())
            results[size] = {}
            floor_ms = None
            for call in fixtures.calls(subjects):
                figures = measure_route(client, call, subjects, tokens, options, workdir, port)
                results[size][call.name] = figures
                if call.name == "floor" and not figures.failure:
                    floor_ms = figures.median_ms
                print(report.route_row(call.name, figures, floor_ms), flush=True)
            # Imports add versions of one template: keep the count exact for the next size.
            JobTemplate.objects.filter(name="bench_import").delete()
        largest = sizes[-1]
        print(f"\nconcurrent clients at {largest:,} templates (wrk -t2 -cN --latency, {options.wrk_seconds} s each)")
        print(report.concurrency_header())
        by_name = {call.name: call for call in fixtures.calls(subjects)}
        for name in CONCURRENCY_ROUTES:
            concurrency[name] = measure_concurrency(port, by_name[name], tokens["user"], options, workdir)
            for clients, result in concurrency[name].items():
                print(report.concurrency_row(name, clients, result), flush=True)
            one, fifty = concurrency[name][1], concurrency[name][50]
            if one.rps and fifty.rps:
                print(f"{'':<{report.NAME_WIDTH}}req/s of 50 clients / of 1: {fifty.rps / one.rps:.2f}")
        print(f"server after the load: {describe_group(pgid)}")

        print(f"\ntargets (issue 13), at {largest:,} templates, ratios to the floor of the same size")
        for target in report.targets(
            results[largest], concurrency["retrieve"], size=largest, concurrency_route="retrieve"
        ):
            print(target.row())
        queued = fixtures.job_queues()
        print(f"\njobs queued by create-job (no worker ran them), by queue: {queued}")
        if client.connection.reconnects:
            print(f"the server dropped the idle connection {client.connection.reconnects} time(s); reopened")
    finally:
        server.stop()


def main() -> None:
    options = options_parsed()
    workdir = Path(tempfile.mkdtemp(prefix="bench-api-"))
    database_url, drop_database = fresh_database(workdir, "bench_api")
    queue = f"bench-api-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "VAR_DIR": str(workdir / "var"),
        "DEBUG": "0",
        # The service's settings and URLs, plus the floor (bench/floor_urls.py).
        "DJANGO_SETTINGS_MODULE": "bench.floor_settings",
        "JWT_ACCESS_LIFETIME_SECONDS": "7200",
        "ADMIN_USERNAME": ADMIN,
        "ADMIN_PASSWORD": PASSWORD,
        "LOG_LEVEL": "WARNING",
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        **dict(setting.split("=", 1) for setting in options.env),
    }
    (workdir / "var" / "static").mkdir(parents=True)
    try:
        run(options, env, workdir)
    finally:
        forget_queue(env.get("CELERY_BROKER_URL", ""), queue)
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
