"""The job runner in this process, without a worker: ``run_job(job_id=…, worker="test")`` on committed
data. Loading the executor (allowed modules, installed, an Executor, its contract pin), required
packages, the contract's outputs, claims that went stale, progress writes, and how outputs are stored.

Jobs are written as rows (not through create-job, which would send them to a broker) and run here.
"""

from __future__ import annotations

import io
import json
import threading
import uuid
import zipfile

import pytest
from django.utils import timezone

from executors.base import Executor
from executors.builtin.testing import MAX_PROGRESS_STEPS
from executors.context import ExecutionContext
from executors.runner import Watchdog, run_job
from jobtemplates.models import Job, JobStatus, JobTemplate
from jobtemplates.services.jobs import job_claim, job_transition
from jobtemplates.services.jobs import transitions as transitions_module
from jobtemplates.services.templates import template_import
from tests.factories import JobFactory

pytestmark = pytest.mark.django_db(transaction=True)

HERE = __name__  # executors below are loaded by this dotted path
IC = "Domain<'Image Classification'>"
NOOP_MODEL = f"Model<{IC}, Framework<'noop', '1'>>"


# --- executors for these tests ---------------------------------------------------------------------


class Forgetful(Executor):
    """A trainer that writes nothing."""

    contract = "Train<Domain, Framework>"

    def run(self, ctx: ExecutionContext) -> None:
        ctx.log.info("forgot to write the model")


class HalfDone(Executor):
    """A trainer that writes only metrics (not its contract's model)."""

    contract = "Train<Domain, Framework>"

    def run(self, ctx: ExecutionContext) -> None:
        ctx.write_output("metrics", {"accuracy": 1}, type="JSON")


class Reclaimed(Executor):
    """Simulates losing the job mid-run: the reaper puts it back and another worker claims it."""

    contract = "Export"

    def run(self, ctx: ExecutionContext) -> None:
        job = Job.objects.get(pk=ctx.job_id)
        job_transition(
            job_id=job.pk,
            to=JobStatus.CREATED,
            actions=(),
            token=job.claim_token,
            fields={"claim_token": None, "worker": None, "heartbeat": None},
        )
        assert job_claim(job_id=job.pk, worker="successor") is not None


class ReclaimedThenWrites(Reclaimed):
    def run(self, ctx: ExecutionContext) -> None:
        super().run(ctx)
        ctx.write_output("late", b"too late", type="BLOB<'x'>")


class Chatty(Executor):
    """Reports progress many times, with data, then returns."""

    contract = "Export"

    def run(self, ctx: ExecutionContext) -> None:
        for step in range(1, 51):
            ctx.progress(step / 100, step=step)


class WritesJSON(Executor):
    """Writes one non-contract output of the type and value its job's parameters say."""

    contract = "Export"

    def run(self, ctx: ExecutionContext) -> None:
        ctx.write_output("result", ctx.parameters["value"], type=ctx.parameters["type"])


class WritesCompressed(Executor):
    contract = "Export"

    def run(self, ctx: ExecutionContext) -> None:
        ctx.write_output("archive", b"hello " * 100, type="Compressed<BLOB<'text'>, 9>")


class NotAnExecutor:
    def run(self, ctx) -> None:  # pragma: no cover - never loaded
        raise AssertionError("must not run")


class WrongContract(Executor):
    """Pins Train, but templates using it (admitted by a web node that could not check) are Export."""

    contract = "Train<Domain, Framework>"

    def run(self, ctx: ExecutionContext) -> None:  # pragma: no cover - refused before running
        raise AssertionError("must not run")


# --- data ------------------------------------------------------------------------------------------


@pytest.fixture
def allow_tests(settings):
    """Workers of these tests may load executors from this module too."""
    settings.EXECUTOR_ALLOWED_MODULES = ["executors.builtin", HERE]


@pytest.fixture
def template(stage, settings):
    """``template(executor_class, job_type="Export", required_packages="", checked=True)``: a workable
    template. ``checked=False`` imports it as a web node that cannot load the class would (a warning),
    which is how a class the worker then refuses gets into the catalogue."""
    admin = stage["admin"]

    def make(
        executor_class: str,
        *,
        job_type: str = "Export",
        required_packages: str = "",
        checked: bool = True,
        domain: str | None = None,
        parameters: dict | None = None,
    ):
        body = {
            "name": f"t_{uuid.uuid4().hex[:8]}",
            "licence": "Apache 2.0",
            "specific": {
                "job_type": job_type,
                "executor_class": executor_class,
                "required_packages": required_packages,
                "parameters": parameters or {},
            },
        }
        if domain:
            body["domain"] = domain
        allowed = settings.EXECUTOR_ALLOWED_MODULES
        if not checked:
            settings.EXECUTOR_ALLOWED_MODULES = ["executors.builtin"]
        try:
            return template_import(data=body, creator=admin).template
        finally:
            settings.EXECUTOR_ALLOWED_MODULES = allowed

    return make


def train_template(template, executor: str):
    return template(executor, job_type=f"Train<{IC}, Framework<'noop', '1'>>", domain="ic")


def job_of(template, stage=None, **fields) -> Job:
    if stage is not None and template.inputs.get("dataset"):
        fields.setdefault("input_values", {"dataset": {"value": stage["dataset"].pk, "type": f"PK<Dataset<{IC}>>"}})
    return JobFactory(template=template, **fields)


def run(job: Job) -> tuple[str, Job]:
    outcome = run_job(job_id=job.pk, worker="test")
    return outcome, Job.objects.get(pk=job.pk)


# --- loading the executor ----------------------------------------------------------------------------


def assert_refused(job: Job, reason: str) -> None:
    """A worker never claims a job it cannot run: the job stays queued, untouched, for a capable one."""
    outcome, after = run(job)
    assert outcome == f"not runnable here: {reason}"
    assert (after.status, after.attempts, after.worker, after.start_time) == ("created", 0, None, None)


class TestLoading:
    def test_a_class_outside_the_allowed_modules_is_not_claimed(self, template, stage):
        job = job_of(template("elsewhere.plugins.Trainer"))
        # Routed to nobody (no runner handles its module): a worker that got it anyway refuses it.
        assert job.runner == "none"
        assert_refused(job, "elsewhere.plugins.Trainer is not run by Celery workers here (runner none)")

    def test_a_celery_job_whose_module_is_no_longer_allowed_here(self, template, stage, settings):
        job = job_of(template("elsewhere.plugins.Trainer"), runner="celery")
        assert_refused(job, "elsewhere.plugins.Trainer is not run by Celery workers here (runner celery)")

    def test_a_module_that_is_not_installed(self, template, stage, settings):
        settings.EXECUTOR_ALLOWED_MODULES = ["executors.builtin", "surely_missing_plugins"]
        job = job_of(template("surely_missing_plugins.train.Trainer"), runner="celery")
        assert_refused(job, "module surely_missing_plugins.train is not installed here")

    def test_a_missing_class_in_an_installed_module(self, template, stage):
        noop = template("executors.builtin.testing.NoOp", parameters=NOOP_PARAMETERS)
        # Import checked the class where it ran; this worker's copy of the module lacks it (versions differ).
        JobTemplate.objects.filter(pk=noop.pk).update(executor_class="executors.builtin.testing.NoSuchExecutor")
        noop.refresh_from_db()
        assert_refused(job_of(noop), "module executors.builtin.testing has no class NoSuchExecutor")

    def test_a_class_that_is_not_an_executor(self, template, stage, allow_tests):
        job = job_of(template(f"{HERE}.NotAnExecutor", checked=False))
        assert_refused(job, f"{HERE}.NotAnExecutor is not a subclass of executors.base.Executor")

    def test_a_contract_pin_that_does_not_accept_the_templates_contract(self, template, stage, allow_tests):
        job = job_of(template(f"{HERE}.WrongContract", checked=False))
        _, job = run(job)
        assert job.status == "errored"
        assert job.error_reason == f"{HERE}.WrongContract fulfils Train<Domain, Framework>, not Export"


class TestRequiredPackages:
    def test_a_package_that_is_not_installed(self, template, stage):
        job = job_of(
            template(
                "executors.builtin.testing.NoOp",
                required_packages="surely-not-installed-pkg>=1",
                parameters=NOOP_PARAMETERS,
            )
        )
        assert_refused(job, "this worker lacks required packages: surely-not-installed-pkg>=1")

    def test_an_installed_package_of_the_wrong_version(self, template, stage):
        import django

        job = job_of(
            template(
                "executors.builtin.testing.NoOp", required_packages="packaging django<1.0", parameters=NOOP_PARAMETERS
            )
        )
        assert_refused(job, f"this worker lacks required packages: django<1.0 (installed: {django.__version__})")

    def test_satisfied_requirements_run(self, template, stage):
        job = job_of(
            template(
                "executors.builtin.testing.NoOp", required_packages="django>=5 celery", parameters=NOOP_PARAMETERS
            ),
            resolved_parameters=NOOP_VALUES,
        )
        outcome, job = run(job)
        assert (outcome, job.status) == ("finished", "finished")


NOOP_PARAMETERS = {
    "sleep": {"types": ["float"], "default": 0.0, "help": "s"},
    "steps": {"types": ["int"], "default": 1, "help": "n"},
}
NOOP_VALUES = {"sleep": {"value": 0.0, "type": "float"}, "steps": {"value": 3, "type": "int"}}


def test_the_no_op_bounds_its_progress_steps(stage):
    # steps is an int (bounded to int64 at create-job); 2**62 of them would be a job that never ends.
    values = {"sleep": {"value": 0.0, "type": "float"}, "steps": {"value": 2**62, "type": "int"}}
    outcome, job = run(job_of(stage["templates"]["noop"], resolved_parameters=values))
    assert (outcome, job.status, job.progress) == ("finished", "finished", 1.0)
    assert job.progress_data["steps"] == MAX_PROGRESS_STEPS


# --- the contract's outputs ---------------------------------------------------------------------------


class TestContractOutputs:
    def test_an_executor_that_writes_nothing_errors_naming_the_output(self, template, stage, allow_tests):
        job = job_of(train_template(template, f"{HERE}.Forgetful"), stage)
        outcome, job = run(job)
        assert job.status == "errored"
        assert job.error_reason == f"the executor did not write its contract's outputs: model ({NOOP_MODEL})"
        assert outcome == f"errored: {job.error_reason}"

    def test_other_outputs_do_not_stand_in_for_the_contracts(self, template, stage, allow_tests):
        job = job_of(train_template(template, f"{HERE}.HalfDone"), stage)
        _, job = run(job)
        assert job.status == "errored" and "model (" in job.error_reason
        assert set(job.outputs.values_list("name", flat=True)) == {"metrics", "log"}

    def test_the_builtin_trainer_finishes_with_its_outputs(self, stage):
        job = job_of(
            stage["templates"]["sleep_train"],
            stage,
            resolved_parameters={"sleep": {"value": 0.0, "type": "float"}, "fail": {"value": False, "type": "bool"}},
        )
        outcome, job = run(job)
        assert (outcome, job.status, job.progress, job.worker) == ("finished", "finished", 1.0, "test")
        assert set(job.outputs.values_list("name", "type")) == {
            ("model", NOOP_MODEL),
            ("metrics", "JSON"),
            ("log", "BLOB<'log'>"),
        }


# --- claims ----------------------------------------------------------------------------------------------


class TestClaims:
    def test_a_stale_claim_cannot_finish_the_job(self, template, stage, allow_tests):
        job = job_of(template(f"{HERE}.Reclaimed"))
        run(job)
        job.refresh_from_db()
        # The successor's claim stands: still running, its worker, no end time, no log of ours.
        assert (job.status, job.worker, job.end_time, job.attempts) == ("running", "successor", None, 2)
        assert not job.outputs.exists()

    def test_a_stale_claim_cannot_write_outputs(self, template, stage, allow_tests):
        job = job_of(template(f"{HERE}.ReclaimedThenWrites"))
        outcome, job = run(job)
        assert outcome == "cancelled"  # the run stops; the successor's run is the job's
        assert (job.status, job.worker, job.error_reason) == ("running", "successor", None)
        assert not job.outputs.exists()

    @pytest.mark.parametrize("status", ["running", "finished", "cancelled", "errored"])
    def test_a_job_that_is_not_created_is_not_claimed(self, stage, status):
        job = job_of(stage["templates"]["noop"], status=status, resolved_parameters=NOOP_VALUES)
        outcome, after = run(job)
        assert outcome == f"not claimable ({status})"
        assert (after.status, after.attempts, after.worker) == (status, 0, None)

    def test_a_soft_deleted_job_is_not_claimed(self, stage):
        job = job_of(stage["templates"]["noop"], deletion_time=timezone.now(), resolved_parameters=NOOP_VALUES)
        outcome, after = run(job)
        assert outcome == "not claimable (created)" and after.attempts == 0

    def test_an_unknown_job(self, stage):
        assert run_job(job_id=987654, worker="test") == "not claimable (no such job)"


# --- progress ----------------------------------------------------------------------------------------------


@pytest.fixture
def notified(monkeypatch) -> list[tuple[int, tuple[str, ...], dict]]:
    """Notifications fired by job transitions and progress, recorded."""
    calls = []

    def record(*, job, actions, transition_data):
        calls.append((job.pk, tuple(actions), dict(transition_data)))

    monkeypatch.setattr(transitions_module, "job_transition_notify", record)
    return calls


class TestProgress:
    def test_only_the_latest_report_is_written_per_flush_and_notified_at_a_throttled_pace(
        self, stage, settings, notified
    ):
        settings.JOB_PROGRESS_NOTIFY_SECONDS = 3600
        job = job_of(stage["templates"]["noop"])
        claim = job_claim(job_id=job.pk, worker="test")
        context = ExecutionContext(
            job_id=job.pk,
            inputs={},
            parameters={},
            outputs={},
            scratch_dir=None,
            cancelled=threading.Event(),
            write=None,
            logger=None,
        )
        watchdog = Watchdog(claim, threading.Event())
        watchdog.context = context
        for fraction in (0.1, 0.2, 0.3):
            context.progress(fraction, step=fraction)
        watchdog.flush_progress()
        job.refresh_from_db()
        assert (job.progress, job.progress_data) == (0.3, {"step": 0.3})
        first = [call for call in notified if call[1] == ("on_progress",)]
        assert [c[2] for c in first] == [{"progress": 0.3, "step": 0.3}]

        watchdog.flush_progress()  # nothing new reported: nothing written
        context.progress(2.5)  # clamped to [0, 1]
        watchdog.flush_progress()
        job.refresh_from_db()
        assert (job.progress, job.progress_data) == (1.0, {})
        # Written, but within the notification interval: not notified again.
        assert [c for c in notified if c[1] == ("on_progress",)] == first

    def test_a_stale_claim_writes_no_progress(self, stage):
        job = job_of(stage["templates"]["noop"])
        claim = job_claim(job_id=job.pk, worker="test")
        Job.objects.filter(pk=job.pk).update(claim_token=uuid.uuid4())
        context = ExecutionContext(
            job_id=job.pk,
            inputs={},
            parameters={},
            outputs={},
            scratch_dir=None,
            cancelled=threading.Event(),
            write=None,
            logger=None,
        )
        watchdog = Watchdog(claim, threading.Event())
        watchdog.context = context
        context.progress(0.5)
        watchdog.flush_progress()
        assert Job.objects.get(pk=job.pk).progress == 0.0

    def test_the_last_report_is_written_before_the_job_finishes(self, template, stage, settings, allow_tests):
        settings.JOB_HEARTBEAT_SECONDS = 3600  # the watchdog never ticks during this run
        job = job_of(template(f"{HERE}.Chatty"))
        outcome, job = run(job)
        assert outcome == "finished"
        assert (job.progress, job.progress_data) == (1.0, {"step": 50})


# --- how outputs are stored ------------------------------------------------------------------------------


class TestOutputStorage:
    @pytest.fixture
    def writes_json(self, template, allow_tests):
        return template(
            f"{HERE}.WritesJSON",
            parameters={
                "value": {"types": ["JSON"], "help": "the value"},
                "type": {"types": ["str"], "help": "its type"},
            },
        )

    def run_writing(self, template, value, type_string) -> Job:
        return run(
            job_of(
                template,
                resolved_parameters={
                    "value": {"value": value, "type": "JSON"},
                    "type": {"value": type_string, "type": "str"},
                },
            )
        )[1]

    def test_a_json_output_is_validated_against_its_type(self, writes_json, stage):
        job = self.run_writing(writes_json, ["a", 2], "Array<str>")
        assert job.status == "errored"
        assert job.error_reason.startswith("not a valid Array<str, int> value: ")
        assert not job.outputs.filter(name="result").exists()

    def test_a_valid_json_output_is_stored_as_utf8_json(self, writes_json, stage):
        job = self.run_writing(writes_json, {"café": [1, 2.5, None]}, "Map<JSON>")
        assert job.status == "finished", job.error_reason
        output = job.outputs.get(name="result")
        assert output.type == "Map<JSON>"
        raw = output.file.open("rb").read()
        assert json.loads(raw.decode("utf-8")) == {"café": [1, 2.5, None]} and "café".encode() in raw
        assert output.size == len(raw)

    def test_a_compressed_output_is_a_zip_with_one_member_data(self, template, stage, allow_tests):
        _, job = run(job_of(template(f"{HERE}.WritesCompressed")))
        assert job.status == "finished", job.error_reason
        output = job.outputs.get(name="archive")
        assert output.type == "Compressed<BLOB<'text'>, 9>"
        with zipfile.ZipFile(io.BytesIO(output.file.open("rb").read())) as archive:
            assert archive.namelist() == ["data"]
            assert archive.read("data") == b"hello " * 100
