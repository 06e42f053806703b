"""Benchmark of running jobs through real Celery workers, against raw Celery tasks on the same broker.

Run from the repository root::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/x CELERY_BROKER_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/jobs.py                 # PostgreSQL + Redis
    .venv/bin/python bench/jobs.py --embedded          # the embedded default: SQLite + fsq://
    .venv/bin/python bench/jobs.py --sections a --round-trips 50 --notifications none

What it does, from nothing: a fresh database (a new PostgreSQL database ``<name>_bench_jobs`` on the
server of ``DATABASE_URL``, dropped afterwards; else a temporary SQLite file), migrated, the catalogue
seeded, the built-in templates imported, a public dataset; a temporary ``VAR_DIR`` (media, and the
fsq:// broker folder in embedded mode). It starts ``--workers`` service workers (``celery -A config
worker``, prefork, ``--concurrency`` children each, a queue of their own) and as many workers of
``bench/raw_app.py`` (a bare Celery app, same broker, same policy: late acks, prefetch 1, JSON, no
result backend) on another queue. Then:

a. **Latency**: one no-op job at a time (``job_create`` of the ``noop`` template, as the HTTP route
   calls it) until the benchmark sees it ``finished`` in the database (polled every ``--poll``
   seconds), against one raw no-op task at a time until its marker file appears (polled alike).
   Medians, with each job's time split by the timestamps the service writes; then the same job
   created and run in this process (``run_job``, no broker) with its SQL statements counted.
b. **Throughput**: ``--jobs`` no-op jobs created in one transaction, sent when it commits, until all
   are finished; against as many raw tasks sent one after another until all markers exist.
c. **Meta-jobs** of ``--nodes`` predict nodes: a chain (``sleep_train`` feeding its model to every
   ``sleep_predict``, each predict's ``predictions`` feeding the next one's ``dataset``) and a
   fan-out (one train feeding ``--nodes`` predicts): create-job until the parent is finished.

It prints medians and ratios against the raw baseline measured in the same run. Figures and how to
read them: bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script from anywhere

from bench.common import Process, fresh_database, wait_for  # noqa: E402
from tests.workers import celery_worker_command  # noqa: E402

IC_DATASET = "PK<Dataset<Domain<'Image Classification'>>>"
FINAL = ("finished", "errored", "cancelled")


# --- setting up ------------------------------------------------------------------------------------


def configure(options: argparse.Namespace, workdir: Path) -> dict:
    """Point this process (and, through the environment, every worker) at the fresh setup."""
    database_url, drop = fresh_database(workdir, "bench_jobs", embedded=options.embedded)
    var = workdir / "var"
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if options.embedded or not broker:
        broker = f"fsq://{(var / 'broker').as_posix()}"
    run = uuid.uuid4().hex[:8]
    environment = {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker,
        "VAR_DIR": str(var),
        "MEDIA_ROOT": str(var / "media"),
        "CELERY_TASK_DEFAULT_QUEUE": f"bench-jobs-{run}",
    }
    if options.notifications == "none":
        environment["NOTIFICATION_DEFAULTS"] = json.dumps({"workable": {}, "meta": {}})
    os.environ.update(environment)
    import logging

    import django

    django.setup()
    # Jobs run in this process (a) log at INFO to their own handler; the console shows warnings only.
    for handler in logging.getLogger().handlers:
        handler.setLevel(logging.WARNING)
    return {
        "drop": drop,
        "broker": broker,
        "database": database_url,
        "queue": environment["CELERY_TASK_DEFAULT_QUEUE"],
        "raw_queue": f"bench-raw-{run}",
        "run": run,
    }


def seed() -> dict:
    """Migrate, seed the catalogue, import the built-in templates, make a user and a public dataset."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from contracts.models import Domain, Licence
    from contracts.services.catalogue_seed import catalogue_seed
    from jobtemplates.services.templates import template_import
    from workspaces.models import Dataset

    call_command("migrate", verbosity=0)
    catalogue_seed()
    user = get_user_model().objects.create_user("bench", "bench@example.com", "bench-password-1", is_staff=True)
    templates = {}
    for name in ("noop", "sleep_train", "sleep_predict"):
        body = json.loads((REPO / "templates" / "builtin" / f"{name}.json").read_text())
        templates[name] = template_import(data=body, creator=user).template
    dataset = Dataset.objects.create(
        name="bench",
        domain=Domain.objects.get(name="ic"),
        licence=Licence.objects.get(name="Apache 2.0"),
        is_public=True,
        creator=user,
    )
    return {"user": user, "templates": templates, "dataset": dataset}


# --- the two sides ---------------------------------------------------------------------------------


class Service:
    """Jobs through the service: create-job, then the job's row until it is final."""

    def __init__(self, setup: dict, data: dict, workers: list[Process]):
        from jobtemplates.services.jobs import enqueueing

        self.user, self.templates, self.dataset = data["user"], data["templates"], data["dataset"]
        self.workers = workers
        # When each job's task was handed to the broker (after its transaction committed).
        self.sent_at: dict[int, float] = {}
        send = enqueueing.send_run_job

        def timed_send(job_id: int) -> bool:
            self.sent_at[job_id] = time.time()
            return send(job_id)

        enqueueing.send_run_job = timed_send

    def create(self, template_name: str = "noop", body: dict | None = None):
        from jobtemplates.services.jobs import job_create

        return job_create(template=self.templates[template_name], body=body or {"input_values": {}}, creator=self.user)

    def status(self, job_id: int) -> str | None:
        from jobtemplates.models import Job

        return Job.objects.filter(pk=job_id).values_list("status", flat=True).first()

    def wait_final(self, job_id: int, *, poll: float, timeout: float = 120) -> str:
        seen: list[str] = []

        def final() -> bool:
            status = self.status(job_id)
            if status in FINAL:
                seen.append(status)
                return True
            return False

        wait_for(final, timeout=timeout, interval=poll, what=f"job {job_id}", processes=self.workers)
        return seen[0]


class Raw:
    """Raw Celery tasks of bench/raw_app.py: send, then wait for the marker file."""

    def __init__(self, setup: dict, raw_dir: Path, workers: list[Process]):
        from celery import Celery

        self.done = raw_dir / "done"
        self.done.mkdir(parents=True, exist_ok=True)
        self.queue = setup["raw_queue"]
        self.workers = workers
        self.app = Celery("bench-raw-client", broker=setup["broker"], set_as_current=False)
        from django.conf import settings

        self.app.conf.update(
            task_serializer="json",
            accept_content=["json"],
            task_ignore_result=True,
            broker_transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        )
        self.next = 0

    def send(self) -> int:
        n = self.next
        self.next += 1
        self.app.send_task("bench.raw_noop", args=[n], queue=self.queue)
        return n

    def ran_at(self, n: int) -> float | None:
        try:
            return float((self.done / str(n)).read_text())
        except (FileNotFoundError, ValueError):
            return None

    def count_done(self) -> int:
        return sum(1 for name in os.listdir(self.done) if not name.startswith("."))


# --- measuring -------------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def section_latency(service: Service, raw: Raw, options) -> dict:
    from jobtemplates.models import Job

    print(
        f"\n(a) latency: one job at a time, median of {options.round_trips} (after 3 warm-up), polled every "
        f"{options.poll * 1000:.0f} ms"
    )
    service_rows, raw_rows = [], []
    for index in range(-3, options.round_trips):
        # Alternate the two sides so drift (other load on the machine) affects both alike; a random
        # pause keeps the sends from phase-locking with the workers' broker polling.
        time.sleep(random.uniform(0.0, 0.05))
        started = time.time()
        job = service.create()
        created = time.time()
        status = service.wait_final(job.pk, poll=options.poll)
        seen = time.time()
        if status != "finished":
            raise SystemExit(f"job {job.pk} {status}: {Job.objects.get(pk=job.pk).error_reason}")
        if index >= 0:
            service_rows.append((job.pk, started, created, seen))

        time.sleep(random.uniform(0.0, 0.05))
        started = time.time()
        n = raw.send()
        sent = time.time()
        wait_for(
            lambda n=n: raw.ran_at(n) is not None,
            timeout=60,
            interval=options.poll,
            what=f"raw task {n}",
            processes=raw.workers,
        )
        seen = time.time()
        if index >= 0:
            raw_rows.append((started, sent, raw.ran_at(n), seen))

    jobs = {job.pk: job for job in Job.objects.filter(pk__in=[row[0] for row in service_rows])}
    phases = {name: [] for name in ("create", "to_claim", "run", "to_seen", "total")}
    for pk, started, _, seen in service_rows:
        job = jobs[pk]
        phases["create"].append(service.sent_at[pk] - started)
        phases["to_claim"].append(job.start_time.timestamp() - service.sent_at[pk])
        phases["run"].append((job.end_time - job.start_time).total_seconds())
        phases["to_seen"].append(seen - job.end_time.timestamp())
        phases["total"].append(seen - started)
    raw_phases = {name: [] for name in ("to_run", "to_seen", "total")}
    for started, _, ran, seen in raw_rows:
        raw_phases["to_run"].append(ran - started)
        raw_phases["to_seen"].append(seen - ran)
        raw_phases["total"].append(seen - started)

    service_total, raw_total = median(phases["total"]), median(raw_phases["total"])
    print(f"  service no-op job   {ms(service_total)}   (p90 {ms(quantile(phases['total'], 0.9))})")
    print(f"  raw Celery task     {ms(raw_total)}   (p90 {ms(quantile(raw_phases['total'], 0.9))})")
    print(f"  ratio               {service_total / raw_total:8.1f} x   (difference {ms(service_total - raw_total)})")
    print("  service, split by the job's timestamps (medians):")
    print(f"    create-job until its task is sent (checks, insert, commit)   {ms(median(phases['create']))}")
    print(f"    sent → claimed (publish, broker, worker pickup, claim)       {ms(median(phases['to_claim']))}")
    print(f"    claimed → end_time (load, run, log output, …)                {ms(median(phases['run']))}")
    print(f"    end_time → seen (finish transition's commit, polling)        {ms(median(phases['to_seen']))}")
    print("  raw, split by the marker's time (medians):")
    print(f"    send → task ran (publish, broker, worker pickup)             {ms(median(raw_phases['to_run']))}")
    print(f"    ran → seen (polling)                                         {ms(median(raw_phases['to_seen']))}")
    in_process(service, options)
    return {"service": service_total, "raw": raw_total}


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


@contextmanager
def not_sent():
    """Jobs created inside are not sent to the broker (this process runs them)."""
    from jobtemplates.services.jobs import enqueueing

    original = enqueueing.send_run_job
    enqueueing.send_run_job = lambda job_id: True
    try:
        yield
    finally:
        enqueueing.send_run_job = original


def in_process(service: Service, options) -> None:
    """create-job and run_job in this process, no broker: their time and their SQL statements."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from executors.runner import run_job

    create_times, run_times, create_sql, run_sql = [], [], Counter(), Counter()
    count = 20
    for index in range(-2, count):
        with not_sent(), CaptureQueriesContext(connection) as created:
            started = time.perf_counter()
            job = service.create()
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
    print(f"  in this process, no broker (median of {count}):")
    print(
        f"    create-job {ms(median(create_times))}, {sum(create_sql.values()) / count:.0f} SQL statements: "
        f"{describe_sql(create_sql, count)}"
    )
    print(
        f"    run_job    {ms(median(run_times))}, {sum(run_sql.values()) / count:.0f} SQL statements: "
        f"{describe_sql(run_sql, count)}"
    )
    profile_run_job(service, count)


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


def profile_run_job(service: Service, count: int) -> None:
    """Where run_job's time goes, by cProfile (which slows everything; read the shares)."""
    import cProfile
    import pstats

    from executors.runner import run_job

    profiler = cProfile.Profile()
    for _ in range(count):
        with not_sent():
            job = service.create()
        profiler.enable()
        run_job(job_id=job.pk, worker="bench-in-process")
        profiler.disable()
    stats = pstats.Stats(profiler).stats
    totals = {}
    for suffix, function, label in RUN_JOB_PARTS:
        totals[label] = sum(
            entry[3]
            for (filename, _, name), entry in stats.items()
            if name == function and filename.replace("\\", "/").endswith(suffix)
        )
    whole = totals[RUN_JOB_PARTS[0][2]] or 1.0
    print(f"    run_job under cProfile, per job (share of run_job), {count} jobs:")
    for _, _, label in RUN_JOB_PARTS:
        print(f"      {label:<58} {totals[label] / count * 1000:6.1f} ms  {totals[label] / whole * 100:4.0f} %")


def statement_kind(sql: str) -> str:
    words = sql.split(None, 3)
    head = words[0].upper() if words else "?"
    if head == "SELECT" and "FOR UPDATE" in sql.upper():
        return "SELECT … FOR UPDATE"
    if head in ("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT"):
        return "transaction control"
    return head


def describe_sql(counter: Counter, runs: int) -> str:
    return ", ".join(f"{kind} {n / runs:.0f}" for kind, n in counter.most_common())


def section_throughput(service: Service, raw: Raw, options) -> dict:
    from django.db import transaction

    from jobtemplates.models import Job
    from notifications.models import DeliveryStatus, NotificationDelivery

    count = options.jobs
    print(
        f"\n(b) throughput: {count} no-op jobs against {count} raw tasks, {options.workers} workers × "
        f"{options.concurrency} process(es)"
    )
    # Raw first: its figures do not depend on the service's tables growing.
    started = time.time()
    first = raw.next
    for _ in range(count):
        raw.send()
    sent = time.time()
    wait_for(lambda: raw.count_done() >= raw.next, timeout=1800, interval=0.02, what="raw tasks", processes=raw.workers)
    raw_seen = time.time()
    ran = [raw.ran_at(n) for n in range(first, raw.next)]
    raw_total = raw_seen - started

    create_started = time.time()
    with transaction.atomic():
        ids = [service.create().pk for _ in range(count)]
        committing = time.time()
    committed = time.time()  # on_commit sent every job's task
    wait_for(
        lambda: Job.objects.filter(pk__in=ids, status__in=FINAL).count() == count,
        timeout=3600,
        interval=0.05,
        what=f"{count} jobs",
        processes=service.workers,
    )
    seen = time.time()
    statuses = Counter(Job.objects.filter(pk__in=ids).values_list("status", flat=True))
    if statuses != Counter({"finished": count}):
        raise SystemExit(f"jobs ended {dict(statuses)}")
    times = Job.objects.filter(pk__in=ids).values_list("start_time", "end_time")
    first_start = min(start for start, _ in times).timestamp()
    last_end = max(end for _, end in times).timestamp()
    service_total = seen - committing
    deliveries = NotificationDelivery.objects.filter(job_id__in=ids)
    emails = deliveries.filter(kind="email").count()

    print(
        f"  raw: sent in {ms(sent - started)}, all ran after {raw_total:7.2f} s → {count / raw_total:7.1f} tasks/s "
        f"(first ran {max(0.0, min(ran) - started) * 1000:.0f} ms after the first send)"
    )
    creating = committing - create_started
    print(
        f"  service: created in {creating:6.2f} s ({creating / count * 1000:.1f} ms per job, one transaction), "
        f"sent at commit in {ms(committed - committing)}"
    )
    print(
        f"  service: all finished {service_total:7.2f} s after the commit began → {count / service_total:7.1f} "
        f"jobs/s; first claim to last end {last_end - first_start:6.2f} s"
    )
    print(f"  ratio (wall time, service / raw): {service_total / raw_total:6.1f} x")
    # Emails go out through notifications.deliver tasks queued when each job starts, behind the jobs
    # still queued: wait for them too, so that they neither go uncounted nor slow down (c).
    wait_for(
        lambda: not deliveries.filter(status=DeliveryStatus.PENDING).exists(),
        timeout=3600,
        interval=0.05,
        what="email deliveries",
        processes=service.workers,
    )
    drained = time.time() - committing
    print(f"  notification deliveries written: {deliveries.count()} ({emails} email: one more task each, same queue)")
    if emails:
        print(
            f"  … the last email sent {drained:7.2f} s after the commit → {count / drained:7.1f} jobs/s with their "
            f"notifications; ratio to raw {drained / raw_total:6.1f} x"
        )
    return {"service": service_total, "raw": raw_total}


def meta_template(name: str, nodes: int, chain: bool, user):
    from jobtemplates.services.templates import template_import

    predicts = [f"p{i}" for i in range(1, nodes + 1)]
    dependencies = [{"from_node": "train", "from_output": "model", "to_node": p, "to_input": "model"} for p in predicts]
    if chain:
        dependencies += [
            {"from_node": a, "from_output": "predictions", "to_node": b, "to_input": "dataset"}
            for a, b in zip(predicts, predicts[1:], strict=False)
        ]
    nodes = {"train": {"name": "sleep_train"}, **{p: {"name": "sleep_predict"} for p in predicts}}
    body = {
        "name": name,
        "licence": "Apache 2.0",
        "domain": "ic",
        "specific": {"nodes": nodes, "dependencies": dependencies},
    }
    return template_import(data=body, creator=user).template


def section_meta(service: Service, options, latency: dict | None, throughput: dict | None) -> None:
    from jobtemplates.models import Job
    from jobtemplates.services.jobs import job_create

    nodes = options.nodes
    print(
        f"\n(c) meta-jobs: sleep_train + {nodes} sleep_predict (sleep 0), {options.workers} workers × "
        f"{options.concurrency}"
    )
    dataset = {"value": service.dataset.pk, "type": IC_DATASET}
    for shape in ("chain", "fan-out"):
        template = meta_template(f"bench_{shape.replace('-', '_')}_{nodes}", nodes, shape == "chain", service.user)
        inputs = {"train:dataset": dataset, "p1:dataset": dataset}
        if shape == "fan-out":
            inputs.update({f"p{i}:dataset": dataset for i in range(1, nodes + 1)})
        started = time.time()
        parent = job_create(template=template, body={"input_values": inputs}, creator=service.user)
        created = time.time()
        status = service.wait_final(parent.pk, poll=0.05, timeout=3600)
        seen = time.time()
        if status != "finished":
            raise SystemExit(f"meta-job {parent.pk} {status}: {Job.objects.get(pk=parent.pk).error_reason}")
        children = {c.child_name: c for c in Job.objects.filter(parent_id=parent.pk)}
        runs = [(c.end_time - c.start_time).total_seconds() for c in children.values()]
        total = seen - started
        print(
            f"  {shape}: {len(children)} children finished {total:7.2f} s after create-job "
            f"({ms(created - started).strip()} of it create-job) → {ms(total / len(children)).strip()} per node; "
            f"median child run (claim → end) {ms(median(runs)).strip()}"
        )
        if shape == "chain":
            order = ["train", *(f"p{i}" for i in range(1, nodes + 1))]
            hops = [
                (children[b].start_time - children[a].end_time).total_seconds()
                for a, b in zip(order, order[1:], strict=False)
            ]
            creations = [
                (children[b].creation_time - children[a].end_time).total_seconds()
                for a, b in zip(order, order[1:], strict=False)
            ]
            print(
                f"    hop from one child's end to the next one's claim: median {ms(median(hops)).strip()}, "
                f"first {ms(hops[0]).strip()}, last {ms(hops[-1]).strip()} (of which the parent's advance creating "
                f"the child: median {ms(median(creations)).strip()}, last {ms(creations[-1]).strip()})"
            )
            if latency:
                print(
                    f"    against {len(children)} raw round trips one after another (from (a)): "
                    f"{total / (latency['raw'] * len(children)):5.1f} x"
                )
        else:
            train_end = children["train"].end_time
            last = max(c.end_time for c in children.values())
            created_last = max(c.creation_time for c in children.values())
            print(
                f"    train end → last predict created {ms((created_last - train_end).total_seconds()).strip()}, "
                f"→ last predict finished {ms((last - train_end).total_seconds()).strip()}"
            )
            if latency and throughput:
                raw_rate = options.jobs / throughput["raw"]
                estimate = latency["raw"] + nodes / raw_rate
                print(
                    f"    against one raw round trip + {nodes} raw tasks at (b)'s raw rate ({estimate:.2f} s): "
                    f"{total / estimate:5.1f} x"
                )


# --- main ------------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedded", action="store_true", help="SQLite + fsq:// whatever the environment says")
    parser.add_argument("--sections", default="a,b,c", help="which of a, b, c to run (default all)")
    parser.add_argument("--round-trips", type=int, default=30)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=1, help="pool processes per worker")
    parser.add_argument("--poll", type=float, default=0.002, help="seconds between polls in (a)")
    parser.add_argument(
        "--notifications",
        choices=["default", "none"],
        default="default",
        help="the server's default notifications (UFDL's: print, and an email on start), or none",
    )
    parser.add_argument("--keep", action="store_true", help="keep the working folder (worker logs)")
    options = parser.parse_args()
    sections = set(options.sections.split(","))

    workdir = Path(tempfile.mkdtemp(prefix="bench-jobs-"))
    setup = configure(options, workdir)
    workers: list[Process] = []
    try:
        data = seed()
        from django.db import connection

        print(
            f"database {connection.vendor} ({'embedded' if connection.vendor == 'sqlite' else 'server'}), broker "
            f"{setup['broker'].split('://')[0]}://, {options.workers} workers × {options.concurrency} (prefork), "
            f"notifications {options.notifications}; python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
        )
        raw_dir = workdir / "raw"
        raw_env = {
            **os.environ,
            "RAW_BROKER_URL": setup["broker"],
            "RAW_QUEUE": setup["raw_queue"],
            "RAW_DIR": str(raw_dir),
        }
        raw_env.pop("DJANGO_SETTINGS_MODULE")
        service_workers = [
            Process(
                celery_worker_command(
                    queue=setup["queue"],
                    hostname=f"svc{i}-{setup['run']}@%h",
                    concurrency=options.concurrency,
                    loglevel="WARNING",
                ),
                env=dict(os.environ),
                log=workdir / f"service-worker-{i}.log",
            )
            for i in range(options.workers)
        ]
        # bench.raw_app as a namespace package from the repository root: bench/ itself must not be on
        # sys.path (bench/types.py would shadow the standard library's types).
        raw_workers = [
            Process(
                celery_worker_command(
                    app="bench.raw_app",
                    queue=setup["raw_queue"],
                    hostname=f"raw{i}-{setup['run']}@%h",
                    concurrency=options.concurrency,
                    loglevel="WARNING",
                ),
                env=raw_env,
                log=workdir / f"raw-worker-{i}.log",
            )
            for i in range(options.workers)
        ]
        workers = service_workers + raw_workers
        service = Service(setup, data, service_workers)
        raw = Raw(setup, raw_dir, raw_workers)
        warm_up(service, raw, options)

        latency = section_latency(service, raw, options) if "a" in sections else None
        throughput = section_throughput(service, raw, options) if "b" in sections else None
        if "c" in sections:
            section_meta(service, options, latency, throughput)
    finally:
        for worker in workers:
            worker.stop()
        from django.db import connections

        connections.close_all()
        setup["drop"]()
        forget_queues(setup)
        if options.keep:
            print(f"kept {workdir}")
        else:
            import shutil

            shutil.rmtree(workdir, ignore_errors=True)
    return 0


def warm_up(service: Service, raw: Raw, options) -> None:
    """Until every worker has done work: both pools started, connections open, modules imported."""
    from jobtemplates.models import Job

    wait_for(
        lambda: len(list((raw.done.parent / "ready").glob("*"))) >= options.workers,
        timeout=90,
        interval=0.1,
        what="raw workers",
        processes=raw.workers,
    )
    for _ in range(options.workers * 3):
        raw.send()
    wait_for(lambda: raw.count_done() >= raw.next, timeout=60, interval=0.05, what="raw warm-up", processes=raw.workers)
    deadline = time.monotonic() + 120
    while True:
        ids = [service.create().pk for _ in range(options.workers * 2)]
        for pk in ids:
            service.wait_final(pk, poll=0.05)
        seen = set(Job.objects.exclude(worker=None).values_list("worker", flat=True))
        if len(seen) >= options.workers:
            return
        if time.monotonic() > deadline:
            raise SystemExit(f"only {len(seen)} service workers took jobs")


def forget_queues(setup: dict) -> None:
    """Remove this run's queues from a shared Redis (fsq:// queues went with the working folder)."""
    if not setup["broker"].startswith(("redis://", "rediss://")):
        return
    import redis

    client = redis.Redis.from_url(setup["broker"])
    for queue in (setup["queue"], setup["raw_queue"]):
        for key in client.scan_iter(match=f"*{queue}*"):
            client.delete(key)


if __name__ == "__main__":
    sys.exit(main())
