"""Setting up and tearing down a run of bench/jobs.py: the fresh database and its data, the environment
every worker inherits, the workers (service, without default notifications, notifier, raw), waiting for
them, and the cleanup of everything the run made."""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import sys
import time
import uuid
from pathlib import Path

from bench.common import REPO, Process, fresh_database, stop_all, wait_for
from bench.jobs_bench.inprocess import NO_DEFAULTS
from bench.jobs_bench.sides import Raw, Service
from tests.workers import celery_worker_command

# Emails of the default notifications go somewhere that takes them (the default "auto" sends them only
# when a delivering backend is configured): memory, in the notifier's process.
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def configure(options: argparse.Namespace, workdir: Path) -> dict:
    """Point this process (and, through the environment, every worker) at the fresh setup."""
    database_url, drop = fresh_database(workdir, "bench_jobs", embedded=options.embedded)
    var = workdir / "var"
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if options.embedded or not broker:
        broker = f"fsq://{(var / 'broker').as_posix()}"
    run = uuid.uuid4().hex[:8]
    queue = f"bench-jobs-{run}"
    environment = {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url,
        "CELERY_BROKER_URL": broker,
        "VAR_DIR": str(var),
        "MEDIA_ROOT": str(var / "media"),
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        "NOTIFICATION_QUEUE": f"{queue}-notifications",
        "EMAIL_BACKEND": EMAIL_BACKEND,
    }
    os.environ.update(environment)
    import logging

    import django

    django.setup()
    # Jobs run in this process (d) log at INFO to their own handler; the console shows warnings only.
    for handler in logging.getLogger().handlers:
        handler.setLevel(logging.WARNING)
    return {
        "drop": drop,
        "broker": broker,
        "database": database_url,
        "queue": queue,
        "quiet_queue": f"bench-quiet-{run}",
        "notification_queue": environment["NOTIFICATION_QUEUE"],
        "raw_queue": f"bench-raw-{run}",
        "run": run,
    }


def seed(setup: dict) -> dict:
    """Migrate, seed the catalogue, import the built-in templates (and ``noop`` again as ``noop_quiet``,
    naming the queue of the workers without default notifications), make a user and a public dataset."""
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
    quiet = json.loads((REPO / "templates" / "builtin" / "noop.json").read_text())
    quiet["name"] = "noop_quiet"
    quiet["specific"]["queue"] = setup["quiet_queue"]
    templates["noop_quiet"] = template_import(data=quiet, creator=user).template
    dataset = Dataset.objects.create(
        name="bench",
        domain=Domain.objects.get(name="ic"),
        licence=Licence.objects.get(name="Apache 2.0"),
        is_public=True,
        creator=user,
    )
    return {"user": user, "templates": templates, "dataset": dataset}


def parse_env(pairs: list[str]) -> dict[str, str]:
    settings = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise SystemExit(f"--env {pair!r}: expected NAME=VALUE")
        settings[name] = value
    return settings


def start_workers(setup: dict, options, workdir: Path) -> dict[str, list[Process]]:
    """Every worker of the run, by group: service, quiet (no default notifications), notifier, raw."""
    host = socket.gethostname()
    service_env = {**os.environ, **parse_env(options.env)}

    def service(group: str, queue: str, env: dict[str, str], count: int, pool: str = "prefork", concurrency=None):
        return [
            Process(
                celery_worker_command(
                    queue=queue,
                    hostname=f"{group}{i}-{setup['run']}@{host}",
                    concurrency=concurrency or options.concurrency,
                    loglevel="WARNING",
                    pool=pool,
                ),
                env=env,
                log=workdir / f"{group}-worker-{i}.log",
            )
            for i in range(count)
        ]

    groups = {
        "service": service("svc", setup["queue"], service_env, options.workers),
        "notifier": service("notifier", setup["notification_queue"], service_env, 1, "threads", 4),
        "quiet": service(
            "quiet", setup["quiet_queue"], {**service_env, "NOTIFICATION_DEFAULTS": NO_DEFAULTS}, options.workers
        ),
    }
    raw_env = {
        **os.environ,
        "RAW_BROKER_URL": setup["broker"],
        "RAW_QUEUE": setup["raw_queue"],
        "RAW_DIR": str(workdir / "raw"),
        # The service's policy, also when --env changes it.
        "RAW_PREFETCH_MULTIPLIER": str(service_prefetch(service_env)),
    }
    raw_env.pop("DJANGO_SETTINGS_MODULE")
    # bench.raw_app as a namespace package from the repository root: bench/ itself must not be on
    # sys.path (bench/types.py would shadow the standard library's types).
    groups["raw"] = [
        Process(
            celery_worker_command(
                app="bench.raw_app",
                queue=setup["raw_queue"],
                hostname=f"raw{i}-{setup['run']}@{host}",
                concurrency=options.concurrency,
                loglevel="WARNING",
            ),
            env=raw_env,
            log=workdir / f"raw-worker-{i}.log",
        )
        for i in range(options.workers)
    ]
    return groups


def service_prefetch(env: dict[str, str]) -> int:
    """The prefetch multiplier of service workers started with ``env``."""
    from django.conf import settings

    value = env.get("CELERY_WORKER_PREFETCH_MULTIPLIER")
    return int(value) if value else settings.CELERY_WORKER_PREFETCH_MULTIPLIER


def wait_registered(groups: dict[str, list[Process]], setup: dict) -> None:
    """Until the registry knows every service worker (create-job asks it whether anything runs a job),
    and this process's fleet snapshot (FLEET_SNAPSHOT_SECONDS) is past."""
    from django.conf import settings

    from runners.models import Worker

    service = [p for name in ("service", "quiet", "notifier") for p in groups[name]]
    wait_for(
        lambda: Worker.objects.filter(name__contains=setup["run"], stopped_at__isnull=True).count() >= len(service),
        timeout=120,
        interval=0.2,
        what="service workers registered",
        processes=service,
    )
    time.sleep(settings.FLEET_SNAPSHOT_SECONDS + 0.1)


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
    for template in ("noop", "noop_quiet"):
        while True:
            ids = [service.create(template).pk for _ in range(options.workers * 2)]
            for pk in ids:
                service.wait_final(pk, poll=0.05)
            seen = set(
                Job.objects.filter(template__name=template).exclude(worker=None).values_list("worker", flat=True)
            )
            if len(seen) >= options.workers:
                break
            if time.monotonic() > deadline:
                raise SystemExit(f"only {len(seen)} service workers took {template} jobs")


def cleanup(setup: dict, groups: dict[str, list[Process]], workdir: Path, *, keep: bool) -> None:
    """Stop every worker, drop the database and this run's queues, remove the working folder; each step
    is tried whatever the one before did."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not leave workers behind
    try:
        try:
            stop_all(p for group in groups.values() for p in group)
        except Exception as error:  # noqa: BLE001 - drop the rest anyway
            print(f"could not stop every worker: {error}", file=sys.stderr)
        if setup:
            try:
                from django.db import connections

                connections.close_all()
                setup["drop"]()
            except Exception as error:  # noqa: BLE001
                print(f"could not drop the database {setup.get('database')}: {error}", file=sys.stderr)
            try:
                forget_queues(setup)
            except Exception as error:  # noqa: BLE001
                print(f"could not remove the queues: {error}", file=sys.stderr)
        if keep:
            print(f"kept {workdir}")
        else:
            import shutil

            shutil.rmtree(workdir, ignore_errors=True)
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def forget_queues(setup: dict) -> None:
    """Remove this run's queues from a shared Redis (fsq:// queues went with the working folder)."""
    if not setup["broker"].startswith(("redis://", "rediss://")):
        return
    import redis

    client = redis.Redis.from_url(setup["broker"])
    for key in client.scan_iter(match=f"*{setup['run']}*"):
        client.delete(key)
