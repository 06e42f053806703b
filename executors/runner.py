"""The job runner: claim, prepare, run the executor, check its outputs, finish or error.

The runner owns the lifecycle. While the executor runs, a watchdog thread beats the job's heartbeat,
writes throttled progress, and watches for cancellation: when the job is cancelled it sets the flag
``ctx.cancelled()`` reads, and if the executor has not returned after the grace period it terminates
the worker child process that runs it (Celery's prefork pool starts a fresh one; the job is already
``cancelled`` in the database, and any redelivered message is refused by the claim).

What a run writes reaches the database with its end: the job's final status, the outputs the executor
wrote (their files are stored as they are written, their rows saved at the end) and the run's log, in
one transaction that holds only while the claim does. A run stopped by a cancel keeps its outputs and
its log on the cancelled job as long as its claim token still matches (nobody claimed the job since:
a cancel leaves the token as it is, and the log tells how the run ended); a run whose job was claimed
again keeps nothing, since the job's outputs are its successor's.

Datasets reach executors through the context too: an input dataset's files as local paths, and new
datasets (a Predict's predictions) created through the dataset services as the job's creator.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import traceback
from pathlib import Path
from typing import Any, NamedTuple

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import close_old_connections
from django.utils import timezone

from config.compiled import OneRowRead
from config.errors import ApplicationError
from contracts.models import Hardware
from contracts.types import is_subtype, parse_type
from executors.base import contract_pin_accepts
from executors.context import ExecutionContext, JobCancelled, job_logger
from executors.loading import ExecutorLoadError, load_executor_class
from executors.registry import local_gpus
from executors.run_data import dataset_create_for_job, dataset_local_files, resolve_given
from executors.watchdog import Watchdog
from jobtemplates.models import Job, JobOutput, JobStatus, JobTemplate
from jobtemplates.services.jobs import Claim, StaleClaim, job_claim, job_heartbeat
from jobtemplates.services.jobs.outputs import job_output_prepare, job_outputs_discard
from jobtemplates.services.jobs.returning import instance_of
from jobtemplates.services.jobs.transitions import job_finish, job_outputs_keep
from runners.packages import missing_packages
from runners.routing import CELERY, runner_for
from workspaces.services.datasets import dataset_categories

# Imported from here by their callers (and tests) since before they moved out.
__all__ = ["JobFailed", "Watchdog", "dataset_create_for_job", "dataset_local_files", "run_job"]

logger = logging.getLogger(__name__)
LOG_OUTPUT = ("log", "BLOB<'log'>")


class JobFailed(Exception):
    """The job cannot run or did not produce what its contract promises (message for error_reason)."""


def run_job(*, job_id: int, worker: str) -> str:
    """Run one job to its end; returns what happened (for the worker's log)."""
    close_old_connections()
    facts = _run_facts(job_id)
    if facts is None:
        return "not claimable (no such job)"
    refusal = _refusal(facts)
    if refusal is not None:
        # Not claimed: the job stays created for a worker that can run it (the reaper sends it again).
        logger.warning("job %s not claimed by %s: %s", job_id, worker, refusal)
        return f"not runnable here: {refusal}"
    claim = job_claim(job_id=job_id, worker=worker, known={"template": facts.template, "creator": facts.creator})
    if claim is None:
        status = Job.objects.filter(pk=job_id).values_list("status", flat=True).first()
        return f"not claimable ({status or 'no such job'})"
    run = Run(claim)
    run.watchdog.start()
    try:
        return _run_claimed(run)
    except (JobCancelled, StaleClaim):
        return _stopped(run)
    except Exception as error:  # the executor's or ours: the job errors, the worker lives on
        if run.cancelled.is_set():
            return _stopped(run, ["", traceback.format_exc()])
        reason = _reason(error)
        run.logger.error("%s", reason)
        outcome = _finish(run, JobStatus.ERRORED, ("on_error",), {"error_reason": reason}, ["", traceback.format_exc()])
        return f"errored: {reason}" if outcome == JobStatus.ERRORED else outcome
    finally:
        run.watchdog.stop()
        run.discard()


class RunFacts(NamedTuple):
    """What deciding whether to claim a job reads (one query), and what its run and notifications then
    need of its template and creator (so the claim needs no more)."""

    runner: str
    template: JobTemplate
    creator: Any  # the creator with only its email loaded (other fields load on access), or None


# The template's fields a run reads (template versions are immutable: read with the job, never again).
TEMPLATE_FIELDS = (
    "kind",
    "name",
    "version",
    "contract",
    "outputs",
    "executor_class",
    "required_packages",
    "min_hardware_generation",
)


# Where the job's pk goes in the facts read (compiled once per process: it runs for every job).
_JOB_SENTINEL = -4_611_686_018_427_387_903
_FACTS = OneRowRead(
    lambda: Job.objects.filter(pk=_JOB_SENTINEL).values_list(
        "runner", "template_id", "creator_id", "creator__email", *(f"template__{f}" for f in TEMPLATE_FIELDS)
    ),
    sentinels=(_JOB_SENTINEL,),
)


def _run_facts(job_id: int) -> RunFacts | None:
    row = _FACTS.fetch(values={_JOB_SENTINEL: job_id}, using=Job.objects.db)
    if row is None:
        return None
    runner, template_id, creator_id, email, *values = row
    database = Job.objects.db
    template = instance_of(
        JobTemplate, database, {"id": template_id, **dict(zip(TEMPLATE_FIELDS, values, strict=True))}
    )
    creator = None
    if creator_id is not None:
        creator = instance_of(get_user_model(), database, {"id": creator_id, "email": email})
    return RunFacts(runner=runner, template=template, creator=creator)


def _refusal(facts: RunFacts) -> str | None:
    """Why this worker must not claim the job (None: it may). A worker never claims a job it cannot
    run: one its executor module does not route to Celery, whose class it cannot import, whose
    required packages it lacks, or that needs a GPU it does not have."""
    template = facts.template
    executor_class = template.executor_class
    if facts.runner != CELERY or runner_for(executor_class) != CELERY:
        return f"{executor_class} is not run by Celery workers here (runner {facts.runner})"
    try:
        load_executor_class(executor_class)
    except ExecutorLoadError as error:
        return error.message
    missing = missing_packages(template.required_packages)
    if missing:
        return f"this worker lacks required packages: {', '.join(missing)}"
    needed = template.min_hardware_generation
    if needed and not _has_gpu(needed):
        return f"this worker has no GPU of generation {needed} or later"
    return None


class Run:
    """One claimed run: its cancellation flag, watchdog, log, and the outputs it wrote so far (files
    stored, rows saved with the run's end so that the end, the outputs and the log commit together)."""

    def __init__(self, claim: Claim):
        self.claim = claim
        self.cancelled = threading.Event()
        self.watchdog = Watchdog(claim, self.cancelled)
        self.logger, self.log = job_logger(claim.job_id)
        self.outputs: dict[tuple[str, str], JobOutput] = {}
        self.watchdog.before_termination = self.terminated

    def terminated(self) -> None:
        """The executor ignored the cancel past its grace period and its process is about to be killed:
        the log (and outputs) of the run so far are kept as for any cancelled run."""
        self.logger.error(
            "terminated: the executor did not stop within %ss of the cancel", settings.JOB_CANCEL_GRACE_SECONDS
        )
        _stopped(self, taken=False)

    def add_output(self, output: JobOutput) -> None:
        replaced = self.outputs.pop((output.name, output.type), None)
        if replaced is not None:
            job_outputs_discard([replaced])
        self.outputs[(output.name, output.type)] = output

    def take_outputs(self, extra_lines: list[str]) -> list[JobOutput]:
        """The run's outputs and its log (the log stored now: the run is over), handed over once."""
        lines = self.log.lines + extra_lines
        if lines:
            try:
                log = job_output_prepare(
                    job_id=self.claim.job_id,
                    name=LOG_OUTPUT[0],
                    output_type=LOG_OUTPUT[1],
                    data="\n".join(lines).encode(),
                )
            except Exception:  # the log is a convenience; never let it change the outcome
                logger.exception("could not store the log of job %s", self.claim.job_id)
            else:
                self.add_output(log)  # it replaces an output the executor wrote as "log"
        outputs, self.outputs = list(self.outputs.values()), {}
        return outputs

    def discard(self) -> None:
        """Remove the files of outputs that were not saved (a run that ended without saving them)."""
        outputs, self.outputs = list(self.outputs.values()), {}
        job_outputs_discard(outputs)


def _finish(
    run: Run, status: str, actions: tuple[str, ...], fields: dict[str, Any], extra_lines: list[str] | None = None
) -> str:
    """End the run as ``status``: the job's row, its outputs and its log in one transaction. A job
    cancelled (or claimed again) meanwhile is not moved: see :func:`_stopped`."""
    claim = run.claim
    fields = {"end_time": timezone.now(), **fields}
    progress = run.watchdog.context.take_progress() if run.watchdog.context else None
    progress_notice = None
    if progress is not None:
        # The executor's last report goes with the end (its fraction too, unless the job finished).
        fields.setdefault("progress", progress[0])
        fields["progress_data"] = progress[1]
        if run.watchdog.notify_due():
            progress_notice = {"progress": progress[0], **progress[1]}
    outputs = run.take_outputs(extra_lines or [])
    try:
        job = job_finish(
            claim=claim,
            to=status,
            actions=actions,
            fields=fields,
            outputs=outputs,
            replace=claim.attempt > 1,
            progress_notice=progress_notice,
        )
    except BaseException:
        job_outputs_discard(outputs)
        raise
    if job is None:
        # Cancelled (or reclaimed) while finishing: the job's record already says what happened.
        logger.info("job %s not marked %s: no longer running under this claim", claim.job_id, status)
        run.outputs = {(o.name, o.type): o for o in outputs}
        return _stopped(run, taken=True)
    return "finished" if status == JobStatus.FINISHED else status


def _stopped(run: Run, extra_lines: list[str] | None = None, *, taken: bool = False) -> str:
    """A run that stopped without ending its job: cancelled (the job says so already), or its claim was
    superseded. The outputs it wrote and its log are kept while the claim still holds the job — a
    cancelled job keeps the log of the run that was stopped — and dropped when another run claimed it
    (that run's are the job's)."""
    claim = run.claim
    if not taken and run.cancelled.is_set():
        run.logger.warning("stopped: the job was cancelled")
    outputs = list(run.outputs.values()) if taken else run.take_outputs(extra_lines or [])
    run.outputs = {}
    try:
        status = job_outputs_keep(claim=claim, outputs=outputs, replace=claim.attempt > 1)
    except Exception:
        logger.exception("could not keep the outputs and log of stopped job %s", claim.job_id)
        status = None
    if status is None:
        job_outputs_discard(outputs)
        logger.info("job %s was claimed again; not keeping this run's outputs and log", claim.job_id)
    return "cancelled"


def _has_gpu(generation: str) -> bool:
    floor = Hardware.objects.filter(generation=generation).values_list("min_compute_capability", flat=True).first()
    return floor is not None and any(gpu["compute"] >= floor for gpu in local_gpus())


def _reason(error: Exception) -> str:
    if isinstance(error, SoftTimeLimitExceeded):
        return f"time limit exceeded ({settings.JOB_SOFT_TIME_LIMIT_SECONDS}s)"
    if isinstance(error, JobFailed | ExecutorLoadError):
        return str(error)
    if isinstance(error, ApplicationError):
        return f"{error.detail} " + "; ".join(f"{p.path}: {p.message}" for p in error.problems)
    return f"{type(error).__name__}: {error}"


def _run_claimed(run: Run) -> str:
    claim = run.claim
    job = claim.job
    assert job is not None  # job_claim returns the claimed row
    template = job.template  # the template's fields the run needs were read with the job
    executor_class = load_executor_class(template.executor_class)
    if not contract_pin_accepts(executor_class.contract, template.contract):
        raise JobFailed(f"{template.executor_class} fulfils {executor_class.contract}, not {template.contract}")
    cancelled = run.cancelled

    def ensure_claimed() -> None:
        if job_heartbeat(claim=claim) is None:
            raise StaleClaim(f"job {claim.job_id} was claimed by another worker")

    def write(name: str, output_type: str, data: Any) -> None:
        ensure_claimed()
        run.add_output(job_output_prepare(job_id=job.pk, name=name, output_type=output_type, data=data))

    def create_dataset(**arguments: Any) -> int:
        ensure_claimed()
        return dataset_create_for_job(job=job, stop=cancelled.is_set, **arguments)

    scratch_root = settings.JOB_SCRATCH_DIR
    if scratch_root:
        Path(scratch_root).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"job-{job.pk}-", dir=scratch_root) as scratch:
        context = ExecutionContext(
            job_id=job.pk,
            inputs={name: resolve_given(value, Path(scratch)) for name, value in job.input_values.items()},
            parameters={name: resolve_given(value, Path(scratch)) for name, value in job.resolved_parameters.items()},
            outputs=template.outputs,
            scratch_dir=Path(scratch),
            cancelled=cancelled,
            write=write,
            logger=run.logger,
            dataset_files=lambda dataset: dataset_local_files(dataset, Path(scratch)),
            dataset_categories=lambda dataset: dataset_categories(dataset=dataset),
            create_dataset=create_dataset,
        )
        run.watchdog.context = context
        run.logger.info(
            "running %s (attempt %s) with %s",
            template.executor_class,
            claim.attempt,
            ", ".join(context.parameters) or "no parameters",
        )
        executor_class().run(context)
    if cancelled.is_set():
        return _stopped(run)
    absent = [
        f"{name} ({output_type})"
        for name, output_type in template.outputs.items()
        if name not in context.written or not is_subtype(parse_type(context.written[name]), parse_type(output_type))
    ]
    if absent:
        raise JobFailed(f"the executor did not write its contract's outputs: {', '.join(absent)}")
    return _finish(run, JobStatus.FINISHED, ("on_finish",), {"progress": 1.0})
