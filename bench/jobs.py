"""Benchmark of running jobs through real Celery workers, against raw Celery tasks on the same broker.

Run from the repository root::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/x CELERY_BROKER_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/jobs.py                 # PostgreSQL + Redis
    .venv/bin/python bench/jobs.py --embedded          # the embedded default: SQLite + fsq://
    .venv/bin/python bench/jobs.py --sections a --round-trips 50 --env CELERY_WORKER_PREFETCH_MULTIPLIER=4

What it does, from nothing: a fresh database (a new PostgreSQL database ``<name>_bench_jobs`` on the
server of ``DATABASE_URL``, dropped afterwards; else a temporary SQLite file), migrated, the catalogue
seeded, the built-in templates imported, a public dataset; a temporary ``VAR_DIR`` (media, and the
fsq:// broker folder in embedded mode). It starts, each on queues of the run's own:

* ``--workers`` service workers (``celery -A config worker``, prefork, ``--concurrency`` children each)
  with the server's default notifications (UFDL's: print, and an email on start, sent through Django's
  locmem email backend, which delivers to memory), and a notifier (a thread pool on their notification
  queue, as ``manage.py serve`` runs it) that sends those emails;
* as many service workers without default notifications (``NOTIFICATION_DEFAULTS`` empty), on a queue
  of their own, which a copy of the ``noop`` template names;
* as many workers of ``bench/raw_app.py`` (a bare Celery app, same broker, same policy: late acks,
  prefetch 1, JSON, no result backend).

Then, in one run:

a. **Latency**: one no-op job at a time (``job_create`` of the ``noop`` template, as the HTTP route
   calls it) until the benchmark sees it ``finished`` in the database (polled every ``--poll``
   seconds), against one raw no-op task at a time until its marker file appears (polled alike).
   Medians, with each job's time split by the timestamps the service writes.
b. **Throughput**: ``--jobs`` no-op jobs created in one transaction, sent when it commits, until all
   are finished (and their emails sent); with the default notifications, then without; against as many
   raw tasks sent one after another until all markers exist.
c. **Meta-jobs** of ``--nodes`` predict nodes: a chain (``sleep_train`` feeding its model to every
   ``sleep_predict``, each predict's ``predictions`` feeding the next one's ``dataset``) and a
   fan-out (one train feeding ``--nodes`` predicts): create-job until the parent is finished.
d. **Statements**: the same no-op job created and run in this process (``run_job``, no broker), its
   SQL statements counted, with and without the default notifications; ``run_job`` under cProfile.

It prints medians and ratios against the raw baseline measured in the same run, and ends with issue
14's targets, each PASS or MISS. Ctrl-C (or SIGTERM) stops the workers and drops what it made. Figures
and how to read them: bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script from anywhere

from bench.common import Process, wait_for  # noqa: E402
from bench.jobs_bench.inprocess import in_process, median, ms  # noqa: E402
from bench.jobs_bench.report import Target, targets_table  # noqa: E402
from bench.jobs_bench.setup import cleanup, configure, parse_env, seed, start_workers, wait_registered, warm_up  # noqa: E402
from bench.jobs_bench.sides import FINAL, Raw, Service  # noqa: E402

IC_DATASET = "PK<Dataset<Domain<'Image Classification'>>>"


# --- measuring -------------------------------------------------------------------------------------


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
    where = {
        "create-job": median(phases["create"]),
        "sent → claimed": median(phases["to_claim"]),
        "claimed → end": median(phases["run"]),
        "end → seen": median(phases["to_seen"]),
    }
    return {"service": service_total, "raw": raw_total, "where": where}


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def raw_throughput(raw: Raw, count: int) -> float:
    """Seconds for ``count`` raw tasks, sent one after another, until all markers exist."""
    started = time.time()
    first = raw.next
    for _ in range(count):
        raw.send()
    sent = time.time()
    wait_for(lambda: raw.count_done() >= raw.next, timeout=1800, interval=0.02, what="raw tasks", processes=raw.workers)
    total = time.time() - started
    ran = [raw.ran_at(n) for n in range(first, raw.next)]
    print(
        f"  raw: sent in {ms(sent - started).strip()}, all ran after {total:6.2f} s → {count / total:7.1f} tasks/s "
        f"(first ran {max(0.0, min(r for r in ran if r) - started) * 1000:.0f} ms after the first send)"
    )
    return total


def service_throughput(service: Service, template: str, label: str, raw_total: float, options) -> dict:
    """``count`` jobs of ``template`` created in one transaction until all are finished, then until the
    emails their notifications queued are sent; wall times from the commit, and ratios to raw."""
    from django.db import transaction

    from jobtemplates.models import Job
    from notifications.models import DeliveryStatus, NotificationDelivery

    count = options.jobs
    create_started = time.time()
    with transaction.atomic():
        ids = [service.create(template).pk for _ in range(count)]
        committing = time.time()
    committed = time.time()  # on_commit sent every job's task
    wait_for(
        lambda: Job.objects.filter(pk__in=ids, status__in=FINAL).count() == count,
        timeout=3600,
        interval=0.05,
        what=f"{count} jobs",
        processes=service.workers,
    )
    total = time.time() - committing
    statuses = Counter(Job.objects.filter(pk__in=ids).values_list("status", flat=True))
    if statuses != Counter({"finished": count}):
        raise SystemExit(f"jobs ended {dict(statuses)}")
    times = Job.objects.filter(pk__in=ids).values_list("start_time", "end_time")
    first_start = min(start for start, _ in times).timestamp()
    last_end = max(end for _, end in times).timestamp()
    creating = committing - create_started
    share = raw_total / total * 100
    print(
        f"  service, {label}: created in {creating:5.2f} s ({creating / count * 1000:.1f} ms per job, one "
        f"transaction), sent at commit in {ms(committed - committing).strip()}"
    )
    print(
        f"    all finished {total:6.2f} s after the commit began → {count / total:7.1f} jobs/s = {share:5.1f} % of "
        f"raw; first claim to last end {last_end - first_start:6.2f} s"
    )
    # Emails go out through the notifier (their own queue): wait for them too, so that they neither go
    # uncounted nor slow down what follows.
    deliveries = NotificationDelivery.objects.filter(job_id__in=ids)
    wait_for(
        lambda: not deliveries.filter(status=DeliveryStatus.PENDING).exists(),
        timeout=3600,
        interval=0.05,
        what="email deliveries",
        processes=service.workers,
    )
    drained = time.time() - committing
    kinds = Counter(deliveries.values_list("kind", flat=True))
    sent = deliveries.filter(status=DeliveryStatus.SENT).count()
    workers = options.workers * options.concurrency
    figures = {"total": total, "share": share, "drained": None, "worker_ms": total / count * workers * 1000}
    print(f"    notification deliveries written: {dict(kinds) or 'none'} ({sent} sent)")
    if kinds.get("email"):
        figures["drained"] = raw_total / drained * 100
        print(
            f"    … the last email sent {drained:6.2f} s after the commit → {count / drained:7.1f} jobs/s with their "
            f"notifications = {figures['drained']:5.1f} % of raw"
        )
    return figures


def section_throughput(service: Service, raw: Raw, options) -> dict:
    count = options.jobs
    print(
        f"\n(b) throughput: {count} no-op jobs against {count} raw tasks, {options.workers} workers × "
        f"{options.concurrency} process(es) each side"
    )
    # Raw first: its figures do not depend on the service's tables growing.
    raw_total = raw_throughput(raw, count)
    return {
        "raw": raw_total,
        "raw_ms": raw_total / count * options.workers * options.concurrency * 1000,
        "default": service_throughput(service, "noop", "default notifications", raw_total, options),
        "none": service_throughput(service, "noop_quiet", "no default notifications", raw_total, options),
    }


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


def section_meta(service: Service, options, latency: dict | None, throughput: dict | None) -> dict:
    from jobtemplates.models import Job
    from jobtemplates.services.jobs import job_create

    nodes = options.nodes
    print(
        f"\n(c) meta-jobs: sleep_train + {nodes} sleep_predict (sleep 0), {options.workers} workers × "
        f"{options.concurrency}"
    )
    dataset = {"value": service.dataset.pk, "type": IC_DATASET}
    totals = {}
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
        totals[shape] = total
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
            totals["hop"] = median(hops)
            totals["advance"] = median(creations)
            print(
                f"    hop from one child's end to the next one's claim: median {ms(median(hops)).strip()}, "
                f"first {ms(hops[0]).strip()}, last {ms(hops[-1]).strip()} (of which the parent's advance creating "
                f"the child: median {ms(median(creations)).strip()}, last {ms(creations[-1]).strip()})"
            )
            if latency:
                print(
                    f"    against {len(children)} raw round trips one after another (from (a)): "
                    f"{total / (latency['raw'] * len(children)):5.1f} x; target {nodes} raw round trips + 1 s = "
                    f"{nodes * latency['raw'] + 1:.2f} s"
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

    return totals


def targets(options, latency, throughput, meta, statements) -> list[Target]:
    """Issue 14's targets from this run's figures."""
    workers = f"{options.workers} × {options.concurrency}"
    note_a = ""
    if latency:
        phases = ", ".join(f"{name} {value * 1000:.0f}" for name, value in latency["where"].items())
        note_a = f"raw {latency['raw'] * 1000:.1f} ms; service ms: {phases}"
    rows = [
        Target(
            "(a) no-op latency, service / raw",
            latency["service"] / latency["raw"] if latency else None,
            2.0,
            "×",
            note=note_a,
        )
    ]
    for key, label in (("default", "default notifications"), ("none", "no default notifications")):
        figures = throughput[key] if throughput else None
        rows.append(
            Target(
                f"(b) {options.jobs} jobs, {workers} workers, {label}: % of raw",
                figures["share"] if figures else None,
                50.0,
                "%",
                at_least=True,
                note=(
                    f"{figures['worker_ms']:.1f} ms of a worker per job, raw {throughput['raw_ms']:.1f} ms"
                    if figures
                    else ""
                ),
            )
        )
        if figures and figures["drained"] is not None:
            rows.append(Target("    … until their emails were sent", figures["drained"], 50.0, "%", at_least=True))
    chain_limit = options.nodes * latency["raw"] + 1.0 if latency else float("nan")
    rows.append(
        Target(
            f"(c) {options.nodes}-node chain: seconds (≤ {options.nodes} raw round trips + 1 s)",
            meta.get("chain") if meta and latency else None,
            chain_limit,
            "s",
            note=(
                f"hop median {meta['hop'] * 1000:.0f} ms (the parent's advance {meta['advance'] * 1000:.0f} ms) "
                f"against a raw round trip of {latency['raw'] * 1000:.1f} ms"
                if meta and latency and "hop" in meta
                else ""
            ),
        )
    )
    if statements:
        for key, label in (
            ("default", "(d) SQL statements per no-op job after create-job"),
            ("none", "    … without default notifications"),
        ):
            count, kinds = statements[key]
            rows.append(Target(label, count, 8, "statements", note=kinds))
    else:
        rows.append(Target("(d) SQL statements per no-op job after create-job", None, 8, "statements"))
    return rows


def interrupted(signum, frame) -> None:
    """SIGTERM (or SIGHUP) as Ctrl-C: unwind through the cleanup."""
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedded", action="store_true", help="SQLite + fsq:// whatever the environment says")
    parser.add_argument("--sections", default="a,b,c,d", help="which of a, b, c, d to run (default all)")
    parser.add_argument("--round-trips", type=int, default=30)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--nodes", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=1, help="pool processes per worker")
    parser.add_argument("--poll", type=float, default=0.002, help="seconds between polls in (a)")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting for the service's workers (e.g. CELERY_WORKER_PREFETCH_MULTIPLIER=4); repeatable",
    )
    parser.add_argument("--keep", action="store_true", help="keep the working folder (worker logs)")
    options = parser.parse_args()
    sections = set(options.sections.split(","))
    parse_env(options.env)  # refuse a malformed --env before anything is made

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, interrupted)
    workdir = Path(tempfile.mkdtemp(prefix="bench-jobs-"))
    setup: dict = {}
    groups: dict[str, list[Process]] = {}
    try:
        setup = configure(options, workdir)
        data = seed(setup)
        from django.db import connection

        groups = start_workers(setup, options, workdir)
        print(
            f"database {connection.vendor} ({'embedded' if connection.vendor == 'sqlite' else 'server'}), broker "
            f"{setup['broker'].split('://')[0]}://, {options.workers} workers × {options.concurrency} (prefork) each "
            f"side, a notifier (4 threads); python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
            + (f"; service workers with {' '.join(options.env)}" if options.env else "")
        )
        wait_registered(groups, setup)
        service = Service(data, [p for name in ("service", "quiet", "notifier") for p in groups[name]])
        raw = Raw(setup, workdir / "raw", groups["raw"])
        warm_up(service, raw, options)

        latency = section_latency(service, raw, options) if "a" in sections else None
        throughput = section_throughput(service, raw, options) if "b" in sections else None
        meta = section_meta(service, options, latency, throughput) if "c" in sections else None
        statements = None
        if "d" in sections:
            print("\n(d) statements: no-op jobs created and run in this process (no broker)")
            statements = in_process(lambda: service.create())
        print(targets_table(targets(options, latency, throughput, meta, statements)))
    except KeyboardInterrupt:
        print("\ninterrupted: stopping the workers and removing what this run made", file=sys.stderr)
        return 130
    finally:
        cleanup(setup, groups, workdir, keep=options.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
