"""Benchmark of UFDL job-launcher nodes contending for queued jobs over HTTP, and of the launcher's poll.

Run from the repository root::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/x .venv/bin/python bench/nodes.py   # a fresh x_bench_nodes
    .venv/bin/python bench/nodes.py                                                       # a temporary SQLite file
    .venv/bin/python bench/nodes.py --nodes 20 --jobs 200 --history 10000 --polls 100

What it does, from nothing: a fresh database (as bench/api.py and bench/jobs.py make it), migrated, the
catalogue seeded, the shipped ``dogs_dummy_image_class_train`` template imported (its jobs are run by
nodes), a user who creates jobs and ``--nodes`` node users (each with ``runners.act_as_node``), and one
``daphne`` process serving the API on a free port (how ``manage.py serve`` runs it). The server's
default notifications are off unless ``--notifications ufdl`` (UFDL's send an email on start, a task
for a Celery worker that this benchmark does not run). Then:

1. **Poll cost, empty table**: ``--polls`` sequential polls (``POST /v1/jobs/list`` with the launcher's
   filter and a ``Node-Id``) from one node on one keep-alive connection: median and 90th percentile;
   the SQL statements of the same request counted in this process (Django's test client,
   ``CaptureQueriesContext``).
2. **Contention**: ``--nodes`` simulated nodes, threads each with its own connection, token and
   registered node (``nodes/list`` then ``nodes/create``, as the launcher registers), and ``--jobs``
   queued node jobs (made with ``job_create``, as create-job makes them). Released together, each
   node loops: poll; try to acquire the listed jobs (a 409 means another node won: the next one);
   with one acquired, ``start``, upload the ``model`` output (raw bytes), ``finish`` with success;
   poll again; stop when a poll lists nothing. Once per ``--orders``: ``fifo`` tries the listed jobs
   first listed first, as the launcher does (so the nodes all race for the oldest job), ``shuffled``
   in an order of the node's own (what the server manages when nodes do not collide). Reported:
   acquisitions per job as the nodes saw them (200 answers) and as the database counts them
   (``attempts``), every job finished, 409s, polls, and jobs/s from the release to the last finish.
3. **Poll cost with history**: ``--history`` finished node jobs (with their ``model`` output rows)
   added to the table, then 1. again; the ratio to the empty table.

It prints medians and ratios; they depend on the machine (see bench/README.md).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run as a script from anywhere

from bench.api import ReconnectingConnection, free_port, manage, setup_django, start_server  # noqa: E402
from bench.common import fresh_database  # noqa: E402

PASSWORD = "bench-password-1"
DOGS_TRAIN = REPO / "templates" / "ufdl" / "image-classification__0010_dogs_dummy_image_class_train.json"
IC_DATASET = "PK<Dataset<Domain<'Image Classification'>>>"
MODEL_TYPE = "Model<Domain<'Image Classification'>, Framework<'dogs_dummy', '1'>>"
POLL_FILTER = {
    "expressions": [
        {
            "sub_expressions": [
                {"field": "start_time", "type": "isnull"},
                {"field": "error_reason", "type": "isnull"},
                {"field": "node", "type": "isnull"},
                {"field": "template.workabletemplate", "type": "isnull", "invert": True},
            ],
            "type": "and",
        }
    ]
}


# --- one simulated node ----------------------------------------------------------------------------


class HTTPFailure(Exception):
    def __init__(self, status: int, body: bytes) -> None:
        self.status, self.body = status, body
        super().__init__(f"{status} {body[:300]!r}")


class NodeSession:
    """A node's own keep-alive HTTP/1.1 connection (reopened when the server drops it while idle), token and
    Node-Id, speaking as the launcher does."""

    def __init__(self, port: int, username: str, *, ip: str) -> None:
        self.connection = ReconnectingConnection(port)
        self.ip = ip
        self.token: str | None = None
        self.node_id: int | None = None
        self.token = self.send("POST", "/v1/auth/obtain", {"username": username, "password": PASSWORD})["access"]

    def send(self, method: str, path: str, body=None, *, raw: bytes | None = None, filename: str = ""):
        headers = {"Accept": "application/json"}
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if raw is not None:
            headers["Content-Type"] = "application/data"
            headers["Content-Disposition"] = f"attachment; filename={filename}"
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if self.node_id:
            headers["Node-Id"] = str(self.node_id)
        status, content = self.connection.exchange(method, path, body=data, headers=headers)
        if status not in (200, 201):
            raise HTTPFailure(status, content)
        return json.loads(content) if content else None

    def register(self) -> int:
        spec = {
            "expressions": [
                {
                    "sub_expressions": [
                        {"field": "ip", "value": self.ip, "type": "exact"},
                        {"field": "index", "value": 0, "type": "exact"},
                    ],
                    "type": "and",
                }
            ]
        }
        body = {
            "ip": self.ip,
            "index": 0,
            "driver_version": None,
            "hardware_generation": None,
            "gpu_mem": None,
            "cpu_mem": 8 * 1024**3,
        }
        found = self.send("POST", "/v1/nodes/list", spec)
        if found:
            self.node_id = found[0]["pk"]
            self.send("PATCH", f"/v1/nodes/{self.node_id}", body)
        else:
            self.node_id = self.send("POST", "/v1/nodes/create", body)["pk"]
        return self.node_id

    def poll(self) -> list[dict]:
        return self.send("POST", "/v1/jobs/list", POLL_FILTER)


@dataclass
class NodeRecord:
    acquired: list[int] = field(default_factory=list)
    conflicts: int = 0
    polls: int = 0
    error: str | None = None


def run_node(session: NodeSession, barrier: threading.Barrier, record: NodeRecord, *, order: str) -> None:
    """Poll, acquire, start, upload, finish, until a poll lists nothing. ``order``: the listed jobs are
    tried first listed first (``fifo``, as the launcher does) or in a random order (``shuffled``)."""
    model_path = "outputs/model/" + quote(MODEL_TYPE, safe="',")  # as the launcher encodes it
    chance = random.Random(session.node_id)
    try:
        barrier.wait()
        while True:
            jobs = session.poll()
            record.polls += 1
            if not jobs:
                return
            if order == "shuffled":
                chance.shuffle(jobs)
            for job in jobs:
                pk = job["pk"]
                try:
                    session.send("GET", f"/v1/jobs/{pk}/acquire")
                except HTTPFailure as failure:
                    if failure.status != 409:
                        raise
                    record.conflicts += 1
                    continue
                record.acquired.append(pk)
                session.send("POST", f"/v1/jobs/{pk}/start", {"send_notification": "email"})
                session.send("POST", f"/v1/jobs/{pk}/{model_path}", raw=b"PK\x05\x06" + b"\0" * 18, filename="model")
                session.send("POST", f"/v1/jobs/{pk}/finish", {"success": True, "send_notification": "email"})
                break
    except Exception as error:  # reported, and the run fails
        record.error = repr(error)


# --- measuring the poll ----------------------------------------------------------------------------


def poll_cost(session: NodeSession, polls: int) -> tuple[float, float, int]:
    """(median ms, p90 ms, listed) of ``polls`` sequential polls after one warm-up."""
    listed = len(session.poll())
    latencies = []
    for _ in range(polls):
        started = time.perf_counter()
        session.poll()
        latencies.append((time.perf_counter() - started) * 1000)
    latencies.sort()
    return statistics.median(latencies), latencies[int(0.9 * (len(latencies) - 1))], listed


def poll_statements(user, node_id: int) -> str:
    """SQL statements of one poll, made in this process through Django's test client: the count and
    its kinds."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from rest_framework_simplejwt.tokens import RefreshToken

    client = Client(HTTP_AUTHORIZATION=f"Bearer {RefreshToken.for_user(user).access_token}", HTTP_NODE_ID=str(node_id))
    client.post("/v1/jobs/list", POLL_FILTER, content_type="application/json")  # last_seen written: not counted
    with CaptureQueriesContext(connection) as captured:
        response = client.post("/v1/jobs/list", POLL_FILTER, content_type="application/json")
    if response.status_code != 200:
        raise SystemExit(f"poll (in process): {response.status_code} {response.content[:300]!r}")
    kinds = Counter(query["sql"].split(None, 1)[0].upper() for query in captured.captured_queries)
    return f"{len(captured)} ({', '.join(f'{kind} {count}' for kind, count in sorted(kinds.items()))})"


def add_history(*, count: int, template, creator, node_ids: list[int]) -> None:
    """``count`` finished node jobs, spread over the nodes, each with its model output row."""
    from django.utils import timezone

    from jobtemplates.models import Job, JobOutput

    now = timezone.now()
    for start in range(0, count, 1000):
        jobs = Job.objects.bulk_create(
            Job(
                template=template,
                creator=creator,
                description=f"history {index}",
                status="finished",
                runner="node",
                node_id=node_ids[index % len(node_ids)],
                start_time=now,
                end_time=now,
                progress=1.0,
                attempts=1,
                input_values={"dataset": {"value": 1, "type": IC_DATASET}},
            )
            for index in range(start, min(count, start + 1000))
        )
        JobOutput.objects.bulk_create(
            JobOutput(job=job, name="model", type=MODEL_TYPE, file=f"job-outputs/{job.pk}/model", size=22)
            for job in jobs
        )


def contend(sessions: list[NodeSession], created: list[int], *, order: str) -> bool:
    """Release the nodes together on the queued jobs ``created``; print what happened; True if some job
    was not acquired exactly once or not finished."""
    from jobtemplates.models import Job

    barrier = threading.Barrier(len(sessions) + 1)
    records = [NodeRecord() for _ in sessions]
    threads = [
        threading.Thread(target=run_node, args=(session, barrier, record), kwargs={"order": order})
        for session, record in zip(sessions, records, strict=True)
    ]
    for thread in threads:
        thread.start()
    barrier.wait()
    released = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - released
    errors = [record.error for record in records if record.error]
    if errors:
        raise SystemExit(f"{len(errors)} nodes failed: {errors[:3]}")
    seen = Counter(pk for record in records for pk in record.acquired)
    attempts = Counter(Job.objects.filter(pk__in=created).values_list("attempts", flat=True))
    statuses = Counter(Job.objects.filter(pk__in=created).values_list("status", flat=True))
    per_node = sorted(len(record.acquired) for record in records)
    once = all(seen[pk] == 1 for pk in created) and len(seen) == len(created)
    print(
        f"contention ({order}): {len(sessions)} nodes, {len(created)} jobs in {elapsed:.2f} s = "
        f"{len(created) / elapsed:.1f} jobs/s (poll, acquire, start, upload, finish)\n"
        f"  acquired exactly once each: {'yes' if once else 'NO'} "
        f"(acquisitions per job: {dict(Counter(seen.values()))}; database attempts: {dict(attempts)}; "
        f"statuses: {dict(statuses)})\n"
        f"  jobs per node: min {per_node[0]}, median {statistics.median(per_node):g}, max {per_node[-1]}; "
        f"409s (lost races): {sum(r.conflicts for r in records)}; polls: {sum(r.polls for r in records)}"
    )
    return not once or statuses.get("finished") != len(created)


# --- the run ---------------------------------------------------------------------------------------


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--nodes", type=int, default=20, help="simulated nodes (threads)")
    arguments.add_argument("--jobs", type=int, default=200, help="queued node jobs they contend for")
    arguments.add_argument("--history", type=int, default=10_000, help="finished jobs added for the second poll")
    arguments.add_argument("--polls", type=int, default=100, help="sequential polls per poll measurement")
    arguments.add_argument("--notifications", choices=["none", "ufdl"], default="none")
    arguments.add_argument(
        "--orders", default="fifo,shuffled", help="how nodes try the listed jobs: fifo (the launcher's), shuffled"
    )
    arguments.add_argument("--keep", action="store_true", help="keep the database and work folder")
    arguments.add_argument("--env", action="append", default=[], metavar="NAME=VALUE", help="a setting; repeatable")
    options = arguments.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="bench-nodes-"))
    database_url, drop_database = fresh_database(workdir, "bench_nodes")
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "VAR_DIR": str(workdir / "var"),
        "DEBUG": "0",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "JWT_ACCESS_LIFETIME_SECONDS": "7200",
        "LOG_LEVEL": "WARNING",
        "CELERY_TASK_DEFAULT_QUEUE": f"bench-nodes-{os.getpid()}",
        **(
            {"NOTIFICATION_DEFAULTS": json.dumps({"workable": {}, "meta": {}})}
            if options.notifications == "none"
            else {}
        ),
        **dict(setting.split("=", 1) for setting in options.env),
    }
    (workdir / "var" / "static").mkdir(parents=True)
    server = None
    try:
        started = time.perf_counter()
        manage(env, "migrate", "--noinput")
        manage(env, "seed_catalogue")
        setup_django(env)
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Permission
        from django.db import connection

        from contracts.models import Domain, Licence
        from jobtemplates.models import Job
        from jobtemplates.services.jobs import job_create
        from jobtemplates.services.templates import template_import
        from workspaces.models import Dataset

        users = get_user_model().objects
        creator = users.create_user(username="bench-user", password=PASSWORD)
        permission = Permission.objects.get(codename="act_as_node", content_type__app_label="runners")
        node_users = []
        for index in range(options.nodes):
            node_user = users.create_user(username=f"bench-node-{index}", password=PASSWORD)
            node_user.user_permissions.add(permission)
            node_users.append(node_user)
        template = template_import(data=json.loads(DOGS_TRAIN.read_text()), creator=None).template
        dataset = Dataset.objects.create(
            name="dogs",
            domain=Domain.objects.get(name="ic"),
            licence=Licence.objects.get(name="Apache 2.0"),
            is_public=True,
            creator=creator,
        )
        port = free_port()
        server = start_server(env, port, workdir / "server.log")
        print(
            f"prepared in {time.perf_counter() - started:.1f} s: {connection.vendor} database, daphne (one process) "
            f"on port {port}; Python {platform.python_version()}, {os.cpu_count()} CPUs; "
            f"notifications {options.notifications}"
        )

        sessions = [
            NodeSession(port, user.username, ip=f"192.0.2.{index + 1}") for index, user in enumerate(node_users)
        ]
        node_ids = [session.register() for session in sessions]

        # 1. the poll on an empty table
        empty = poll_cost(sessions[0], options.polls)
        empty_sql = poll_statements(node_users[0], node_ids[0])
        print(
            f"\npoll, empty table: median {empty[0]:.2f} ms, p90 {empty[1]:.2f} ms, {empty_sql} SQL statements "
            f"({options.polls} polls, {empty[2]} listed)"
        )

        # 2. contention, once per order in which the nodes try the listed jobs
        body = {
            "input_values": {"dataset": {"value": dataset.pk, "type": IC_DATASET}},
            "parameter_values": {"frontend_metadata": {"value": {}, "type": "JSON"}},
        }
        failed = False
        for order in options.orders.split(","):
            created = [job_create(template=template, body=body, creator=creator).pk for _ in range(options.jobs)]
            queued_poll = poll_cost(sessions[0], max(5, options.polls // 10))
            queued_sql = poll_statements(node_users[0], node_ids[0])
            print(
                f"\npoll, {options.jobs} queued: median {queued_poll[0]:.2f} ms, p90 {queued_poll[1]:.2f} ms, "
                f"{queued_sql} SQL statements ({queued_poll[2]} listed)"
            )
            failed = contend(sessions, created, order=order) or failed

        # 3. the poll with history
        add_history(count=options.history, template=template, creator=creator, node_ids=node_ids)
        full = poll_cost(sessions[0], options.polls)
        full_sql = poll_statements(node_users[0], node_ids[0])
        total = Job.objects.count()
        print(
            f"\npoll, {total} jobs in the table ({options.history} history + the contention's, finished): "
            f"median {full[0]:.2f} ms, p90 {full[1]:.2f} ms, {full_sql} SQL statements ({full[2]} listed)"
        )
        print(f"ratio to the empty table: latency x{full[0] / empty[0]:.2f}; SQL statements {empty_sql} -> {full_sql}")
        if failed:
            raise SystemExit("FAILED: some job was not acquired exactly once, or not finished")
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
