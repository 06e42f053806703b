"""The runner's lean path (issue 14): the statements one job costs, no logger left behind per job, and a
cancelled job that keeps the log (and outputs) of the run that was stopped.

Run in this process on committed data (``run_job(job_id=…, worker="test")``); the cancel path once more
end to end with a real worker.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from executors.base import Executor
from executors.context import ExecutionContext
from executors.runner import run_job
from jobtemplates.models import Job, JobOutput, JobStatus
from jobtemplates.services.jobs import job_cancel, job_create
from jobtemplates.services.jobs.transitions import job_transition
from jobtemplates.services.templates import template_import
from tests.conftest import bearer_client
from tests.e2e import wait_for_status
from tests.factories import JobFactory
from tests.workers import wait_until

pytestmark = pytest.mark.django_db(transaction=True)

HERE = __name__
NOOP_VALUES = {"sleep": {"value": 0.0, "type": "float"}, "steps": {"value": 1, "type": "int"}}
NO_NOTIFICATIONS = {"workable": {}, "meta": {}}
TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE")


def kind(sql: str) -> str:
    words = sql.split(None, 3)
    head = words[0].upper()
    if head in TRANSACTION_CONTROL:
        return head
    table = {"SELECT": "FROM", "UPDATE": "UPDATE", "INSERT": "INTO"}.get(head)
    if table is None:
        return head
    after = sql.split(f"{table} ", 1)[1] if f"{table} " in sql else ""
    return f"{head} {after.split(None, 1)[0].strip(chr(34)) if after else '?'}"


def run_counted(job: Job) -> tuple[str, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        outcome = run_job(job_id=job.pk, worker="test")
    return outcome, [kind(query["sql"]) for query in captured.captured_queries]


def noop_job(stage) -> Job:
    return JobFactory(template=stage["templates"]["noop"], resolved_parameters=NOOP_VALUES, creator=stage["admin"])


# --- statements per job --------------------------------------------------------------------------------

# The whole no-op job after create-job: the job with its template's fields and creator's email (one
# SELECT), the claim (one UPDATE … RETURNING, no transaction of its own), and the end: the job's row and
# its log in one transaction, the last progress report written with it.
RUNNER_STATEMENTS = [
    "SELECT jobtemplates_job",
    "UPDATE jobtemplates_job",
    "BEGIN",
    "UPDATE jobtemplates_job",
    "INSERT jobtemplates_joboutput",
    "COMMIT",
]


class TestStatements:
    def test_a_no_op_job_without_notifications(self, stage, settings):
        settings.NOTIFICATION_DEFAULTS = NO_NOTIFICATIONS
        noop_job(stage)  # the first job of a process may read what later ones find in its caches
        outcome, statements = run_counted(noop_job(stage))
        assert outcome == "finished"
        assert statements == RUNNER_STATEMENTS
        assert (len(statements), len([s for s in statements if s in TRANSACTION_CONTROL])) == (6, 2)

    def test_a_no_op_job_with_the_default_notifications(self, stage, settings):
        settings.NOTIFICATION_DEFAULTS = None
        noop_job(stage)
        outcome, statements = run_counted(noop_job(stage))
        assert outcome == "finished"
        counted = Counter(statements)
        # One insert of delivery records per transition (the start, the finish), nothing read for them:
        # the claim returned the job, its template's fields and its creator's email came with the job.
        assert counted["INSERT notifications_notificationdelivery"] == 2
        assert not [s for s in statements if s.startswith("SELECT") and s != "SELECT jobtemplates_job"]
        runner = [s for s in statements if "notifications_" not in s and s not in TRANSACTION_CONTROL]
        assert runner == [s for s in RUNNER_STATEMENTS if s not in TRANSACTION_CONTROL]
        # Each insert runs after its transition's commit, on its own (no transaction of its own).
        assert len(statements) == len(RUNNER_STATEMENTS) + 2

    def test_a_job_that_writes_outputs_saves_them_with_its_end(self, stage, settings, allow_tests):
        settings.NOTIFICATION_DEFAULTS = NO_NOTIFICATIONS
        template = make_template(stage, "WritesTwo")
        JobFactory(template=template, creator=stage["admin"])
        outcome, statements = run_counted(JobFactory(template=template, creator=stage["admin"]))
        assert outcome == "finished"
        # Each write checks the claim (one UPDATE … RETURNING); the rows are saved in one INSERT with
        # the log, in the transaction that finishes the job.
        assert statements == [
            "SELECT jobtemplates_job",
            "UPDATE jobtemplates_job",
            "UPDATE jobtemplates_job",
            "UPDATE jobtemplates_job",
            "BEGIN",
            "UPDATE jobtemplates_job",
            "INSERT jobtemplates_joboutput",
            "COMMIT",
        ]

    def test_a_progress_write_is_one_statement(self, stage, settings):
        from jobtemplates.services.jobs import job_claim, job_progress

        settings.NOTIFICATION_DEFAULTS = NO_NOTIFICATIONS
        job = noop_job(stage)
        claim = job_claim(job_id=job.pk, worker="test")
        with CaptureQueriesContext(connection) as captured:
            assert job_progress(claim=claim, progress=0.5, data={"step": 1}, notify=True)
        assert [kind(q["sql"]) for q in captured.captured_queries] == ["UPDATE jobtemplates_job"]
        job.refresh_from_db()
        assert (job.progress, job.progress_data) == (0.5, {"step": 1})


# --- executors and templates of these tests --------------------------------------------------------------


class WritesTwo(Executor):
    contract = "Export"

    def run(self, ctx: ExecutionContext) -> None:
        ctx.write_output("first", b"1", type="BLOB<'x'>")
        ctx.write_output("second", {"n": 2}, type="JSON")


def cancel_own_job(ctx: ExecutionContext) -> None:
    """Cancel the running job as its creator would (the API's service), and wait for the runner to see it."""
    ctx.log.info("about to be cancelled")
    job_cancel(job=Job.objects.get(pk=ctx.job_id))
    deadline = time.monotonic() + 30
    while not ctx.cancelled() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ctx.cancelled()
    ctx.log.info("saw the cancel")


class CancelledThenRaises(Executor):
    """Stops the way ``ctx.raise_if_cancelled()`` stops a run."""

    contract = "Export"

    def run(self, ctx: ExecutionContext) -> None:
        ctx.write_output("partial", b"half", type="BLOB<'x'>")
        cancel_own_job(ctx)
        ctx.raise_if_cancelled()


class CancelledThenReturns(Executor):
    contract = "Export"

    def run(self, ctx: ExecutionContext) -> None:
        cancel_own_job(ctx)


class CancelledThenFails(Executor):
    """Fails after the cancel (the failure is the cancel's doing: the job stays cancelled)."""

    contract = "Export"

    def run(self, ctx: ExecutionContext) -> None:
        cancel_own_job(ctx)
        raise RuntimeError("interrupted")


class CancelledWhileFinishing(Executor):
    """Returns before the runner noticed the cancel: the end finds the job cancelled, not running."""

    contract = "Export"

    def run(self, ctx: ExecutionContext) -> None:
        ctx.log.info("about to be cancelled")
        job_cancel(job=Job.objects.get(pk=ctx.job_id))


class ReclaimedThenCancelled(Executor):
    """The reaper put the job back and another worker claimed it, then this run stops: nothing of it stays."""

    contract = "Export"

    def run(self, ctx: ExecutionContext) -> None:
        from jobtemplates.services.jobs import job_claim

        ctx.log.info("about to lose the job")
        job = Job.objects.get(pk=ctx.job_id)
        job_transition(
            job_id=job.pk,
            to=JobStatus.CREATED,
            actions=(),
            token=job.claim_token,
            fields={"claim_token": None, "worker": None, "heartbeat": None},
        )
        assert job_claim(job_id=job.pk, worker="successor") is not None
        deadline = time.monotonic() + 30
        while not ctx.cancelled() and time.monotonic() < deadline:
            time.sleep(0.01)
        ctx.raise_if_cancelled()


@pytest.fixture
def allow_tests(settings):
    settings.EXECUTOR_ALLOWED_MODULES = ["executors.builtin", HERE]


def make_template(stage, executor: str):
    return template_import(
        data={
            "name": f"lean_{executor.lower()}",
            "licence": "Apache 2.0",
            "specific": {"job_type": "Export", "executor_class": f"{HERE}.{executor}", "parameters": {}},
        },
        creator=stage["admin"],
    ).template


def log_of(job: Job) -> str:
    output = JobOutput.objects.get(job=job, name="log")
    with output.file.open("rb") as handle:
        return handle.read().decode()


# --- a cancelled job keeps its log ---------------------------------------------------------------------


class TestCancelledRunKeepsItsLog:
    @pytest.fixture(autouse=True)
    def fast_watchdog(self, settings, allow_tests):
        settings.JOB_HEARTBEAT_SECONDS = 0.02
        settings.NOTIFICATION_DEFAULTS = NO_NOTIFICATIONS

    @pytest.mark.parametrize("executor", ["CancelledThenRaises", "CancelledThenReturns", "CancelledThenFails"])
    def test_both_cancel_paths_store_the_log(self, stage, executor):
        job = JobFactory(template=make_template(stage, executor), creator=stage["admin"])
        assert run_job(job_id=job.pk, worker="test") == "cancelled"
        job.refresh_from_db()
        assert (job.status, job.is_cancelled, job.error_reason) == ("cancelled", True, None)
        log = log_of(job)
        assert "about to be cancelled" in log and "saw the cancel" in log
        assert "stopped: the job was cancelled" in log
        if executor == "CancelledThenFails":
            assert "RuntimeError: interrupted" in log  # the traceback of how the run ended
        if executor == "CancelledThenRaises":
            # What the run wrote before it was cancelled stays with the log.
            assert set(job.outputs.values_list("name", flat=True)) == {"partial", "log"}

    def test_a_cancel_that_lands_while_the_run_finishes(self, stage):
        job = JobFactory(template=make_template(stage, "CancelledWhileFinishing"), creator=stage["admin"])
        assert run_job(job_id=job.pk, worker="test") == "cancelled"
        job.refresh_from_db()
        assert job.status == "cancelled" and job.progress < 1.0
        assert "about to be cancelled" in log_of(job)

    def test_a_run_whose_job_was_claimed_again_keeps_nothing(self, stage, settings):
        job = JobFactory(template=make_template(stage, "ReclaimedThenCancelled"), creator=stage["admin"])
        assert run_job(job_id=job.pk, worker="test") == "cancelled"
        job.refresh_from_db()
        assert (job.status, job.worker, job.attempts) == ("running", "successor", 2)
        assert not job.outputs.exists()
        # Its stored files went too: nothing of the stopped run is left in the job's folder.
        folder = Path(settings.MEDIA_ROOT) / "job-outputs" / str(job.pk)
        assert not folder.exists() or not any(folder.iterdir())


# --- no logger left behind per job -----------------------------------------------------------------------


class TestNoLoggerPerJob:
    def test_many_jobs_leave_no_logger_and_no_handler(self, stage, settings, caplog):
        settings.NOTIFICATION_DEFAULTS = NO_NOTIFICATIONS
        run_job(job_id=noop_job(stage).pk, worker="test")  # whatever the first job registers (module loggers)
        registered = set(logging.Logger.manager.loggerDict)
        jobs_handlers = list(logging.getLogger("jobs").handlers)
        caplog.set_level(logging.INFO)
        jobs = [noop_job(stage) for _ in range(25)]
        for job in jobs:
            assert run_job(job_id=job.pk, worker="test") == "finished"
        assert set(logging.Logger.manager.loggerDict) == registered
        assert not [name for name in logging.Logger.manager.loggerDict if name.startswith("jobs.")]
        assert logging.getLogger("jobs").handlers == jobs_handlers
        # Each job's lines still reach the worker's own log (the root's handlers) and the job's log.
        running = [r for r in caplog.records if r.name == f"jobs.{jobs[-1].pk}"]
        assert running and "running executors.builtin.testing.NoOp" in running[0].getMessage()
        assert "running executors.builtin.testing.NoOp" in log_of(jobs[-1])
        assert f"jobs.{jobs[0].pk}" not in log_of(jobs[-1])


# --- end to end: a real worker, the API's cancel -----------------------------------------------------------


@pytest.mark.worker
def test_a_job_cancelled_through_the_api_keeps_its_log(worker, stage):
    admin = stage["admin"]
    job = job_create(
        template=stage["templates"]["noop"],
        body={
            "input_values": {},
            "parameter_values": {"sleep": {"value": 30.0, "type": "float"}, "steps": {"value": 300, "type": "int"}},
        },
        creator=admin,
    )
    wait_for_status(job.pk, "running")
    wait_until(lambda: Job.objects.get(pk=job.pk).progress > 0, timeout=10, message="progress written")
    response = bearer_client(admin).post(f"/v1/jobs/{job.pk}/cancel")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    # The executor sees ctx.cancelled(), returns, and the worker keeps the log of the stopped run.
    wait_until(lambda: JobOutput.objects.filter(job_id=job.pk, name="log").exists(), timeout=20, message="the log")
    job.refresh_from_db()
    assert job.status == "cancelled" and job.progress < 1.0
    log = log_of(job)
    assert "running executors.builtin.testing.NoOp" in log and "cancelled at step" in log
    assert "stopped: the job was cancelled" in log
    listed = bearer_client(admin).get(f"/v1/jobs/{job.pk}").json()
    assert [o["name"] for o in listed["outputs"]] == ["log"]


@pytest.mark.worker
def test_a_run_terminated_for_ignoring_the_cancel_keeps_its_log(worker, stage):
    admin = stage["admin"]
    job = job_create(template=stage["templates"]["stubborn"], body={"input_values": {}}, creator=admin)
    wait_for_status(job.pk, "running")
    job_cancel(job=Job.objects.get(pk=job.pk))
    # After the grace period the watchdog keeps the run's log, then kills the pool child.
    wait_until(lambda: JobOutput.objects.filter(job_id=job.pk, name="log").exists(), timeout=30, message="the log")
    wait_until(lambda: "did not stop within" in worker.tail(200), timeout=20, message="termination logged")
    job.refresh_from_db()
    assert job.status == "cancelled"
    log = log_of(job)
    assert "running executors.builtin.testing.Stubborn" in log and "terminated: the executor did not stop" in log
    # The pool's fresh child runs the next job.
    follow_up = job_create(template=stage["templates"]["noop"], body={"input_values": {}}, creator=admin)
    wait_for_status(follow_up.pk, "finished", timeout=30)
