"""The worker registry: what a worker reports about itself (executor classes, distributions, GPUs and
their generations), the signal handlers that report it (start, heartbeat, stop; failures logged, never
raised), ``/v1/workers`` for admins only (alive, current jobs, constant queries), the admin's worker and
node changelists, and a real worker process appearing in the registry and leaving it.

``nvidia-smi`` is the outside world: it is faked; everything else is real (database, worker process).
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import threading
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from executors import registry, worker_signals
from executors.registry import gpu_generation, worker_capabilities
from jobtemplates.models import Job
from jobtemplates.services.templates import template_import
from runners.models import Node, Worker
from runners.services import WORKER_FIELDS, worker_report
from tests.conftest import bearer_client
from tests.factories import JobFactory, UserFactory
from tests.workers import wait_until

pytestmark = pytest.mark.django_db

API = "/v1/workers"
ADMIN = "/admin/runners"
NOOP = "executors.builtin.testing.NoOp"
BUILTIN = Path(__file__).resolve().parents[2] / "templates" / "builtin"
# What a worker is, in the order the API gives it.
WORKER_KEYS = [
    "pk",
    "name",
    "alive",
    "current_jobs",
    "queues",
    "concurrency",
    "executor_modules",
    "executor_classes",
    "cpu_count",
    "memory_bytes",
    "gpus",
    "pid",
    "version",
    "distributions",
    "started_at",
    "last_seen",
    "stopped_at",
]
NVIDIA_SMI = "0, NVIDIA GeForce RTX 3090, 24576, 8.6\n1, Tesla K80, 11441, 3.7\n2, Some Future GPU, 8192, 12.0\n"


@pytest.fixture
def noop(seeded_catalogue, admin_user):
    """The built-in noop template (the job factories' default)."""
    return template_import(data=json.loads((BUILTIN / "noop.json").read_text()), creator=admin_user).template


def report(name: str, *, queues=("celery",), **changes) -> Worker:
    """A worker row as a worker's start report writes it (small fake capabilities)."""
    capabilities = {
        "queues": list(queues),
        "executor_modules": ["executors.builtin"],
        "executor_classes": [NOOP],
        "distributions": {"Django": "5.2"},
        "cpu_count": 8,
        "memory_bytes": 16 * 2**30,
        "gpus": [],
        "concurrency": 2,
        "pid": 4242,
        "version": "1.0",
    }
    worker = worker_report(name=name, started=True, **capabilities)
    if changes:
        Worker.objects.filter(pk=worker.pk).update(**changes)
        worker.refresh_from_db()
    return worker


def ago(seconds: float):
    return timezone.now() - timedelta(seconds=seconds)


def fake_consumer(hostname: str, queues: list[str], concurrency: int = 2) -> SimpleNamespace:
    """What ``worker_ready`` sends: the worker's consumer (hostname, task consumer queues, controller)."""
    return SimpleNamespace(
        hostname=hostname,
        task_consumer=SimpleNamespace(queues=[SimpleNamespace(name=queue) for queue in queues]),
        controller=SimpleNamespace(concurrency=concurrency),
    )


def fake_nvidia_smi(monkeypatch, stdout: str = NVIDIA_SMI, fails: bool = False) -> list[list[str]]:
    """Put a fake ``nvidia-smi`` on the path; returns the commands it was run with."""
    calls: list[list[str]] = []

    def run(command, **kwargs):
        calls.append(command)
        if fails:
            raise subprocess.CalledProcessError(9, command)
        return subprocess.CompletedProcess(command, 0, stdout=stdout, stderr="")

    monkeypatch.setattr(registry.shutil, "which", lambda name: f"/usr/bin/{name}" if name == "nvidia-smi" else None)
    monkeypatch.setattr(registry.subprocess, "run", run)
    return calls


@pytest.fixture
def no_gpus(monkeypatch):
    monkeypatch.setattr(registry.shutil, "which", lambda name: None)


# --- what a worker reports ---------------------------------------------------------------------------


class TestCapabilities:
    def test_this_process_reports_what_it_can_run(self, settings, no_gpus):
        capabilities = worker_capabilities(queues=["gpu", "celery", "celery"], concurrency=3)
        assert set(capabilities) == set(WORKER_FIELDS)
        assert capabilities["queues"] == ["celery", "gpu"]
        assert capabilities["executor_modules"] == list(settings.EXECUTOR_ALLOWED_MODULES)
        assert NOOP in capabilities["executor_classes"]
        assert capabilities["executor_classes"] == sorted(capabilities["executor_classes"])
        assert "executors.base.Executor" not in capabilities["executor_classes"]
        assert capabilities["distributions"]["Django"].startswith("5.")
        assert capabilities["cpu_count"] == os.cpu_count()
        assert capabilities["memory_bytes"] > 0
        assert capabilities["gpus"] == []
        assert (capabilities["concurrency"], capabilities["pid"]) == (3, os.getpid())

    def test_gpus_get_their_generation_from_the_hardware_catalogue(self, seeded_catalogue, monkeypatch):
        calls = fake_nvidia_smi(monkeypatch)
        gpus = worker_capabilities(queues=["gpu"])["gpus"]
        assert calls and calls[0][0] == "nvidia-smi"
        assert gpus == [
            {
                "index": 0,
                "model": "NVIDIA GeForce RTX 3090",
                "memory_bytes": 24576 * 2**20,
                "compute": 8.6,
                "generation": "Ampere",
            },
            {"index": 1, "model": "Tesla K80", "memory_bytes": 11441 * 2**20, "compute": 3.7, "generation": "Kepler"},
            {"index": 2, "model": "Some Future GPU", "memory_bytes": 8192 * 2**20, "compute": 12.0, "generation": None},
        ]

    def test_a_shared_bound_belongs_to_the_later_generation(self):
        generations = [("Kepler", 3.0, 5.0), ("Maxwell", 5.0, 6.0)]
        assert [gpu_generation(compute, generations) for compute in (3.0, 4.9, 5.0, 6.0, 6.1, None)] == [
            "Kepler",
            "Kepler",
            "Maxwell",
            "Maxwell",
            None,
            None,
        ]

    def test_no_nvidia_smi_or_a_failing_one_means_no_gpus_and_no_query(self, monkeypatch, no_gpus):
        with CaptureQueriesContext(connection) as captured:
            assert worker_capabilities(queues=["celery"])["gpus"] == []
        assert len(captured) == 0
        fake_nvidia_smi(monkeypatch, fails=True)
        assert registry.gpus() == []
        fake_nvidia_smi(monkeypatch, stdout="garbage\n0, Odd GPU, lots, 7.0\n")
        assert registry.gpus() == []


# --- the signal handlers -----------------------------------------------------------------------------


class TestSignals:
    @pytest.fixture(autouse=True)
    def _slow_heartbeat(self, settings, no_gpus):
        settings.WORKER_HEARTBEAT_SECONDS = 3600  # the heartbeat thread does not beat during a test
        yield
        worker_signals._reporter = None

    def test_a_worker_reports_on_start_and_records_its_stop(self):
        worker_signals.on_worker_ready(sender=fake_consumer("t1@host", ["gpu", "celery"], concurrency=3))
        try:
            worker = Worker.objects.get(name="t1@host")
            assert worker.queues == ["celery", "gpu"] and worker.concurrency == 3
            assert NOOP in worker.executor_classes and "Django" in worker.distributions
            assert worker.pid == os.getpid() and worker.cpu_count == os.cpu_count()
            assert worker.started_at is not None and worker.stopped_at is None
            assert worker_signals._reporter._thread.is_alive()
        finally:
            worker_signals.on_worker_shutdown(sender=SimpleNamespace(hostname="t1@host"))
        worker.refresh_from_db()
        assert worker.stopped_at is not None
        assert worker_signals._reporter is None

    def test_a_heartbeat_marks_it_seen_and_reports_again_when_its_row_is_gone(self):
        reporter = worker_signals.WorkerReporter(name="t2@host", queues=["celery"], concurrency=1, interval=1)
        assert reporter.report()
        started = Worker.objects.get(name="t2@host").started_at
        Worker.objects.filter(name="t2@host").update(last_seen=ago(600), stopped_at=ago(300))
        assert reporter.beat()
        worker = Worker.objects.get(name="t2@host")
        assert worker.last_seen > ago(60) and worker.stopped_at is None and worker.started_at == started

        Worker.objects.filter(name="t2@host").delete()  # an admin deleted it while it ran
        assert reporter.beat()
        again = Worker.objects.get(name="t2@host")
        assert again.queues == ["celery"] and NOOP in again.executor_classes and again.concurrency == 1

    def test_the_first_successful_report_sets_the_start(self, monkeypatch):
        reporter = worker_signals.WorkerReporter(name="t3@host", queues=["celery"], concurrency=1, interval=1)
        monkeypatch.setattr(worker_signals, "worker_report", self.broken)
        assert not reporter.report()
        monkeypatch.undo()
        assert reporter.beat()  # no row yet: it reports everything
        assert Worker.objects.get(name="t3@host").started_at is not None

    @staticmethod
    def broken(**kwargs):
        raise RuntimeError("database gone")

    def test_failures_are_logged_never_raised(self, monkeypatch, caplog):
        for name in ("worker_report", "worker_beat", "worker_stopped"):
            monkeypatch.setattr(worker_signals, name, self.broken)
        with caplog.at_level(logging.ERROR, logger="executors.worker_signals"):
            worker_signals.on_worker_ready(sender=fake_consumer("t4@host", ["celery"]))
            assert not worker_signals._reporter.beat()
            worker_signals.on_worker_shutdown(sender=SimpleNamespace(hostname="t4@host"))
            worker_signals.on_worker_ready(sender=SimpleNamespace())  # not even a hostname
        messages = [record.getMessage() for record in caplog.records]
        assert any("t4@host could not send its registry report" in message for message in messages)
        assert any("t4@host could not send its registry heartbeat" in message for message in messages)
        assert any("t4@host could not send its registry stop" in message for message in messages)
        assert any("could not describe worker ?" in message for message in messages)
        assert not Worker.objects.filter(name="t4@host").exists()

    def test_queues_come_from_the_app_when_the_consumer_has_none(self):
        queue = SimpleNamespace(name="from-app")
        consumer = SimpleNamespace(
            task_consumer=None,
            app=SimpleNamespace(amqp=SimpleNamespace(queues=SimpleNamespace(consume_from={"from-app": queue}))),
            pool=SimpleNamespace(limit=4),
        )
        assert worker_signals.consumed_queues(consumer) == ["from-app"]
        assert worker_signals.pool_size(consumer) == 4


@pytest.mark.django_db(transaction=True)
def test_the_heartbeat_thread_closes_its_database_connections(settings, no_gpus):
    if connection.vendor == "sqlite" and connection.is_in_memory_db():
        pytest.skip("an in-memory SQLite connection is never closed (it would lose the database)")
    reporter = worker_signals.WorkerReporter(name="t5@host", queues=["celery"], concurrency=1, interval=1)
    seen: dict[str, bool] = {}

    def beat_in_a_thread():
        from django.db import connection as thread_connection

        seen["beat"] = reporter.beat()
        seen["closed"] = thread_connection.connection is None

    thread = threading.Thread(target=beat_in_a_thread)
    thread.start()
    thread.join(timeout=30)
    assert seen == {"beat": True, "closed": True}
    assert Worker.objects.filter(name="t5@host").exists()


# --- /v1/workers -------------------------------------------------------------------------------------


@pytest.mark.usefixtures("empty_worker_registry")
class TestApi:
    def test_admins_only(self, client, anon_client, admin_client):
        worker = report("a@host")
        for path in (API, f"{API}/", f"{API}/{worker.pk}"):
            assert admin_client.get(path).status_code == 200, path
            assert client.get(path).status_code == 403, path
            assert anon_client.get(path).status_code == 401, path
        assert client.post(f"{API}/list", {}, format="json").status_code == 403
        assert anon_client.post(f"{API}/list", {}, format="json").status_code == 401
        bad = bearer_client()
        bad.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
        assert bad.get(API).status_code == 401
        assert bad.get(f"{API}/{worker.pk}").status_code == 401
        assert admin_client.get(f"{API}/424242").status_code == 404

    def test_a_worker_shows_its_registry_fields(self, admin_client):
        worker = report("a@host", queues=["celery", "gpu"])
        body = admin_client.get(f"{API}/{worker.pk}").json()
        assert list(body) == WORKER_KEYS
        assert {key: body[key] for key in WORKER_KEYS if key not in {"started_at", "last_seen"}} == {
            "pk": worker.pk,
            "name": "a@host",
            "alive": True,
            "current_jobs": [],
            "queues": ["celery", "gpu"],
            "concurrency": 2,
            "executor_modules": ["executors.builtin"],
            "executor_classes": [NOOP],
            "cpu_count": 8,
            "memory_bytes": 16 * 2**30,
            "gpus": [],
            "pid": 4242,
            "version": "1.0",
            "distributions": {"Django": "5.2"},
            "stopped_at": None,
        }
        assert body["started_at"] and body["last_seen"]

    def test_alive_means_seen_lately_and_not_stopped(self, admin_client, settings):
        settings.WORKER_STALE_SECONDS = 60
        report("fresh@host")
        report("stale@host", last_seen=ago(61))
        report("stopped@host", stopped_at=timezone.now())
        listed = admin_client.get(API).json()["results"]
        assert {worker["name"]: worker["alive"] for worker in listed} == {
            "fresh@host": True,
            "stale@host": False,
            "stopped@host": False,
        }

    def test_current_jobs_are_its_running_jobs(self, admin_client, noop):
        worker = report("w1@host")
        report("idle@host")
        running = [JobFactory(running=True, worker="w1@host") for _ in range(2)]
        JobFactory(finished=True, worker="w1@host")
        JobFactory(running=True, worker="someone-else@host")
        listed = {row["name"]: row["current_jobs"] for row in admin_client.get(API).json()["results"]}
        assert listed == {"idle@host": [], "w1@host": [job.pk for job in running]}
        assert admin_client.get(f"{API}/{worker.pk}").json()["current_jobs"] == [job.pk for job in running]

    def test_filters(self, admin_client):
        report("a@host")
        report("b@host")
        assert [row["name"] for row in admin_client.get(f"{API}?name=b@host").json()["results"]] == ["b@host"]
        spec = {"expressions": [{"type": "exact", "field": "name", "value": "a@host"}]}
        assert [row["name"] for row in admin_client.post(f"{API}/list", spec, format="json").json()] == ["a@host"]

    def test_a_list_answers_in_a_constant_number_of_queries(self, admin_client, noop):
        def queries(count: int) -> int:
            Worker.objects.all().delete()
            Job.objects.all().delete()
            for n in range(count):
                report(f"q{n}@host")
                JobFactory(running=True, worker=f"q{n}@host")
            counts = []
            for call in (lambda: admin_client.get(API), lambda: admin_client.post(f"{API}/list", {}, format="json")):
                with CaptureQueriesContext(connection) as captured:
                    response = call()
                assert response.status_code == 200
                counts.append(len(captured))
            rows = response.json()
            assert len(rows) == count and all(len(row["current_jobs"]) == 1 for row in rows)
            return counts

        assert queries(1) == queries(5)


# --- the admin ---------------------------------------------------------------------------------------


@pytest.fixture
def browser(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def page_text(response) -> str:
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def node(owner, *, ip: str = "10.0.0.1", index: int = 0, **fields) -> Node:
    return Node.objects.create(owner=owner, ip=ip, index=index, **fields)


@pytest.mark.usefixtures("empty_worker_registry")
class TestAdmin:
    def test_the_worker_changelist_shows_each_worker_and_links_its_jobs(self, browser, noop, seeded_catalogue):
        gpu = {"index": 0, "model": "RTX 3090", "memory_bytes": 1, "compute": 8.6, "generation": "Ampere"}
        report("w1@host", queues=["celery", "gpu"], gpus=[gpu])
        report("stale@host", last_seen=ago(3600))
        job = JobFactory(running=True, worker="w1@host")
        html = page_text(browser.get(f"{ADMIN}/worker/"))
        assert "w1@host" in html and "stale@host" in html and "celery, gpu" in html
        assert "RTX 3090 (Ampere)" in html
        assert f'href="/admin/jobtemplates/job/{job.pk}/change/"' in html
        assert 'alt="True"' in html and 'alt="False"' in html
        alive_only = browser.get(f"{ADMIN}/worker/?alive=yes")
        assert [worker.name for worker in alive_only.context["cl"].result_list] == ["w1@host"]
        page = page_text(browser.get(f"{ADMIN}/worker/{Worker.objects.get(name='w1@host').pk}/change/"))
        assert f'href="/admin/jobtemplates/job/{job.pk}/change/"' in page and 'name="_save"' not in page

    def test_workers_are_never_added_or_changed_and_only_stale_ones_deleted(self, browser):
        live = report("live@host")
        stale = report("stale@host", last_seen=ago(3600))
        assert browser.get(f"{ADMIN}/worker/add/").status_code == 403
        assert browser.post(f"{ADMIN}/worker/{live.pk}/change/", {"name": "renamed"}).status_code == 403
        assert browser.get(f"{ADMIN}/worker/{live.pk}/delete/").status_code == 403
        assert browser.get(f"{ADMIN}/worker/{stale.pk}/delete/").status_code == 200
        delete = {"action": "delete_selected", "post": "yes"}
        mixed = browser.post(f"{ADMIN}/worker/", {**delete, "_selected_action": [live.pk, stale.pk]})
        assert mixed.status_code == 403 and Worker.objects.count() == 2
        assert browser.post(f"{ADMIN}/worker/", {**delete, "_selected_action": [stale.pk]}).status_code == 302
        assert list(Worker.objects.values_list("name", flat=True)) == ["live@host"]

    def test_the_node_changelist_shows_each_node_and_links_its_current_job(
        self, browser, noop, seeded_catalogue, user, settings
    ):
        from contracts.models import Hardware

        settings.NODE_STALE_SECONDS = 300
        ampere = Hardware.objects.get(generation="Ampere")
        seen = node(user, ip="10.0.0.7", hardware_generation=ampere, gpu_mem=24, cpu_mem=64, last_seen=ago(10))
        node(user, ip="10.0.0.8", last_seen=None)
        held = JobFactory(running=True, node=seen, runner="node", worker=None)
        JobFactory(finished=True, node=seen, runner="node")
        response = browser.get(f"{ADMIN}/node/")
        html = page_text(response)
        assert "10.0.0.7" in html and "10.0.0.8" in html and "Ampere" in html and "alice" in html
        assert f'href="/admin/jobtemplates/job/{held.pk}/change/"' in html
        rows = {row.ip: (row.alive, [job.pk for job in row.current_jobs]) for row in response.context["cl"].result_list}
        assert rows == {"10.0.0.7": (True, [held.pk]), "10.0.0.8": (False, [])}
        assert page_text(browser.get(f"{ADMIN}/node/{seen.pk}/change/"))
        assert browser.get(f"{ADMIN}/node/add/").status_code == 403

    def test_changelists_answer_in_a_constant_number_of_queries(self, browser, noop, user):
        def queries(count: int) -> list[int]:
            Worker.objects.all().delete()
            Job.objects.all().delete()
            Node.objects.all().delete()
            for n in range(count):
                report(f"q{n}@host")
                JobFactory(running=True, worker=f"q{n}@host")
                JobFactory(running=True, node=node(user, ip=f"10.0.1.{n}", last_seen=timezone.now()), runner="node")
            counts = []
            for url in (f"{ADMIN}/worker/", f"{ADMIN}/node/"):
                with CaptureQueriesContext(connection) as captured:
                    assert browser.get(url).status_code == 200
                counts.append(len(captured))
            return counts

        assert queries(1) == queries(5)

    def test_only_staff_get_in(self):
        outsider = Client()
        outsider.force_login(UserFactory(username="carol"))
        for url in (f"{ADMIN}/worker/", f"{ADMIN}/node/"):
            response = outsider.get(url)
            assert response.status_code == 302 and "/admin/login/" in response["Location"], url


# --- a real worker -----------------------------------------------------------------------------------


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_registers_beats_and_records_its_stop(start_worker):
    process = start_worker(concurrency=2, name="registry")  # returns once its row is there
    worker = Worker.objects.get(name=process.hostname)
    assert worker.queues == [process.queue] and worker.concurrency == 2
    assert NOOP in worker.executor_classes and "Django" in worker.distributions
    assert worker.started_at is not None and worker.stopped_at is None and worker.pid
    wait_until(
        lambda: Worker.objects.filter(pk=worker.pk, last_seen__gt=worker.last_seen).exists(),
        timeout=30,
        message=f"a heartbeat from {process.hostname} (log {process.log})",
    )
    process.stop()  # SIGTERM: a warm shutdown
    wait_until(
        lambda: Worker.objects.filter(pk=worker.pk, stopped_at__isnull=False).exists(),
        timeout=30,
        message=f"{process.hostname} to record its stop (log {process.log})",
    )
