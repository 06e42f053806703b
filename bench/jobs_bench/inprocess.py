"""No-op jobs created and run in the benchmark's own process (no broker): their time, their SQL
statements by kind (``CaptureQueriesContext``), and ``run_job`` under cProfile split by its parts."""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager

# The server's default notifications switched off (NOTIFICATION_DEFAULTS), for the "none" figures.
NO_DEFAULTS = json.dumps({"workable": {}, "meta": {}})

# Parts of run_job, by (module file, function): cumulative time under cProfile. Nested parts are
# included in their callers (the notifications are part of the claim and of the finish).
RUN_JOB_PARTS = [
    ("executors/runner.py", "run_job", "run_job, in all"),
    ("django/db/__init__.py", "close_old_connections", "  close_old_connections"),
    ("jobtemplates/services/jobs/transitions.py", "job_claim", "  claim (UPDATE, reload, its notifications)"),
    ("threading.py", "start", "  watchdog thread start"),
    ("executors/runner.py", "_run_claimed", "  prepare, run, check, log, finish"),
    ("executors/loading.py", "load_executor_class", "    load the executor class"),
    ("runners/packages.py", "missing_packages", "    required packages"),
    ("tempfile.py", "__init__", "    scratch folder"),
    ("executors/builtin/testing.py", "run", "    the executor itself"),
    ("executors/runner.py", "flush_progress", "    progress write (+ on_progress)"),
    ("executors/runner.py", "_store_log", "    log output (file + row)"),
    ("executors/runner.py", "_finish", "    finish transition (+ its notifications)"),
    ("notifications/dispatch.py", "job_transition_notify", "  notifications, all (inside claim, progress, finish)"),
    ("executors/runner.py", "stop", "  watchdog stop"),
]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


@contextmanager
def not_sent() -> Iterator[None]:
    """Jobs created inside are not sent to the broker (this process runs them)."""
    from jobtemplates.services.jobs import enqueueing

    original = enqueueing.send_run_job
    enqueueing.send_run_job = lambda job_id, queue="": True
    try:
        yield
    finally:
        enqueueing.send_run_job = original


def statement_kind(sql: str) -> str:
    words = sql.split(None, 3)
    head = words[0].upper() if words else "?"
    if head == "SELECT" and "FOR UPDATE" in sql.upper():
        return "SELECT … FOR UPDATE"
    if head in ("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT"):
        return "transaction control"
    return head


def describe_sql(counter: Counter, runs: int) -> str:
    return ", ".join(
        f"{kind} {n / runs:.1f}".replace(".0 ", " ").removesuffix(".0") for kind, n in counter.most_common()
    )


def measure(create: Callable, *, count: int = 20, label: str) -> tuple[float, str]:
    """``count`` no-op jobs created and run here (after 2 warm-up); prints their medians and statements;
    returns ``run_job``'s statements per job, and by kind."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from executors.runner import run_job

    create_times, run_times, create_sql, run_sql = [], [], Counter(), Counter()
    for index in range(-2, count):
        with not_sent(), CaptureQueriesContext(connection) as created:
            started = time.perf_counter()
            job = create()
            create_time = time.perf_counter() - started
        with CaptureQueriesContext(connection) as ran:
            started = time.perf_counter()
            outcome = run_job(job_id=job.pk, worker="bench-in-process")
            run_time = time.perf_counter() - started
        if outcome != "finished":
            raise SystemExit(f"in-process job {job.pk}: {outcome}")
        if index >= 0:
            create_times.append(create_time)
            run_times.append(run_time)
            create_sql.update(statement_kind(q["sql"]) for q in created.captured_queries)
            run_sql.update(statement_kind(q["sql"]) for q in ran.captured_queries)
    statements = sum(run_sql.values()) / count
    print(f"  in this process, no broker, the connection kept as a worker keeps it, {label} (median of {count}):")
    print(
        f"    create-job {ms(median(create_times))}, {sum(create_sql.values()) / count:.1f} SQL statements: "
        f"{describe_sql(create_sql, count)}"
    )
    print(f"    run_job    {ms(median(run_times))}, {statements:.1f} SQL statements: {describe_sql(run_sql, count)}")
    return statements, describe_sql(run_sql, count)


def in_process(create: Callable, *, count: int = 20) -> dict[str, tuple[float, str]]:
    """Statements of ``run_job`` per no-op job with the server's default notifications and without
    (NOTIFICATION_DEFAULTS empty), then where its time goes (cProfile, with the defaults)."""
    from django.db import connections
    from django.test.utils import override_settings

    from executors.worker_signals import keep_connections

    # As a worker keeps its connection from job to job (WORKER_DB_CONN_MAX_AGE), so does this process:
    # run_job's close_old_connections would otherwise connect anew for every job.
    connections.close_all()
    keep_connections()
    figures = {"default": measure(create, count=count, label="default notifications")}
    with override_settings(NOTIFICATION_DEFAULTS=NO_DEFAULTS):
        figures["none"] = measure(create, count=count, label="no default notifications")
    profile_run_job(create, count)
    return figures


def profile_run_job(create: Callable, count: int) -> None:
    """Where run_job's time goes, by cProfile (which slows everything; read the shares)."""
    import cProfile
    import pstats

    from executors.runner import run_job

    profiler = cProfile.Profile()
    for _ in range(count):
        with not_sent():
            job = create()
        profiler.enable()
        run_job(job_id=job.pk, worker="bench-in-process")
        profiler.disable()
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    totals = {}
    for suffix, function, label in RUN_JOB_PARTS:
        totals[label] = sum(
            entry[3]
            for (filename, _, name), entry in stats.items()
            if name == function and filename.replace("\\", "/").endswith(suffix)
        )
    whole = totals[RUN_JOB_PARTS[0][2]] or 1.0
    print(f"    run_job under cProfile, per job (share of run_job), {count} jobs, default notifications:")
    for _, _, label in RUN_JOB_PARTS:
        print(f"      {label:<58} {totals[label] / count * 1000:6.1f} ms  {totals[label] / whole * 100:4.0f} %")
