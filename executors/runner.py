"""The job runner: claim, prepare, run the executor, check its outputs, finish or error.

The runner owns the lifecycle. While the executor runs, a watchdog thread beats the job's heartbeat,
writes throttled progress, and watches for cancellation: when the job is cancelled it sets the flag
``ctx.cancelled()`` reads, and if the executor has not returned after the grace period it terminates
the worker child process that runs it (Celery's prefork pool starts a fresh one; the job is already
``cancelled`` in the database, and any redelivered message is refused by the claim).

Datasets reach executors through the context too: an input dataset's files as local paths, and new
datasets (a Predict's predictions) created through the dataset services as the job's creator.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from billiard.process import current_process
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import close_old_connections, connection, transaction
from django.utils import timezone

from config.errors import ApplicationError
from contracts.models import Hardware
from contracts.resident import resolve_value
from contracts.types import is_subtype, parse_type
from executors.base import contract_pin_accepts
from executors.context import (
    CapturingHandler,
    ExecutionContext,
    JobCancelled,
    LocalFile,
    NewDatasetFiles,
    OutputFile,
)
from executors.loading import ExecutorLoadError, load_executor_class
from executors.registry import local_gpus
from jobtemplates.models import Job, JobOutput, JobStatus
from jobtemplates.services.jobs import (
    Claim,
    IllegalTransition,
    StaleClaim,
    job_claim,
    job_heartbeat,
    job_output_write,
    job_progress,
    job_transition,
)
from runners.packages import missing_packages
from runners.routing import CELERY, runner_for
from workspaces.models import Dataset, DatasetFile
from workspaces.services.datasets import (
    check_project_for_datasets,
    dataset_categories,
    dataset_categories_set,
    dataset_create,
    dataset_file_upload,
    dataset_hard_delete,
)

logger = logging.getLogger(__name__)
LOG_OUTPUT = ("log", "BLOB<'log'>")


class JobFailed(Exception):
    """The job cannot run or did not produce what its contract promises (message for error_reason)."""


class Watchdog(threading.Thread):
    """Heartbeat, throttled progress and cancellation watching for one running job."""

    def __init__(self, claim: Claim, cancelled: threading.Event):
        super().__init__(name=f"job-{claim.job_id}-watchdog", daemon=True)
        self.claim = claim
        self.cancelled = cancelled
        self.stopping = threading.Event()
        self.context: ExecutionContext | None = None
        self.cancelled_at: float | None = None
        self.last_notified: float | None = None  # not 0.0: the monotonic clock may start near zero
        self.may_terminate = current_process().name.startswith("ForkPoolWorker")

    def run(self) -> None:
        try:
            while not self.stopping.wait(settings.JOB_HEARTBEAT_SECONDS):
                self.tick()
        finally:
            connection.close()

    def tick(self) -> None:
        self.flush_progress()
        status = job_heartbeat(claim=self.claim)
        if status != JobStatus.RUNNING and not self.cancelled.is_set():
            # Cancelled, or the claim was superseded: either way this run must stop.
            logger.info("job %s is %s: asking the executor to stop", self.claim.job_id, status or "reclaimed")
            self.cancelled.set()
            self.cancelled_at = time.monotonic()
        if self.cancelled_at is not None and time.monotonic() - self.cancelled_at > settings.JOB_CANCEL_GRACE_SECONDS:
            self.terminate()

    def flush_progress(self) -> None:
        progress = self.context.take_progress() if self.context else None
        if progress is None:
            return
        now = time.monotonic()
        notify = self.last_notified is None or now - self.last_notified >= settings.JOB_PROGRESS_NOTIFY_SECONDS
        if notify:
            self.last_notified = now
        job_progress(claim=self.claim, progress=progress[0], data=progress[1], notify=notify)

    def terminate(self) -> None:
        if not self.may_terminate:
            logger.error(
                "job %s ignores cancellation; not in a pool child, so it cannot be terminated", self.claim.job_id
            )
            self.cancelled_at = None
            return
        logger.error(
            "job %s did not stop within %ss of its cancellation: terminating its worker process",
            self.claim.job_id,
            settings.JOB_CANCEL_GRACE_SECONDS,
        )
        os.kill(os.getpid(), signal.SIGKILL)

    def stop(self) -> None:
        self.stopping.set()
        if self.is_alive():
            self.join(timeout=settings.JOB_HEARTBEAT_SECONDS + 5)


def run_job(*, job_id: int, worker: str) -> str:
    """Run one job to its end; returns what happened (for the worker's log)."""
    close_old_connections()
    refusal = _refusal(job_id)
    if refusal is not None:
        # Not claimed: the job stays created for a worker that can run it (the reaper sends it again).
        logger.warning("job %s not claimed by %s: %s", job_id, worker, refusal)
        return f"not runnable here: {refusal}"
    claim = job_claim(job_id=job_id, worker=worker)
    if claim is None:
        status = Job.objects.filter(pk=job_id).values_list("status", flat=True).first()
        return f"not claimable ({status or 'no such job'})"
    cancelled = threading.Event()
    watchdog = Watchdog(claim, cancelled)
    log_handler = CapturingHandler()
    job_logger = logging.getLogger(f"jobs.{job_id}")
    job_logger.addHandler(log_handler)
    job_logger.setLevel(logging.INFO)
    watchdog.start()
    try:
        return _run_claimed(claim, cancelled, watchdog, job_logger, log_handler)
    except (JobCancelled, StaleClaim):
        return "cancelled"
    except Exception as error:  # the executor's or ours: the job errors, the worker lives on
        if cancelled.is_set():
            return "cancelled"
        reason = _reason(error)
        job_logger.error("%s", reason)
        _store_log(claim, log_handler.lines + ["", traceback.format_exc()])
        _finish(claim, JobStatus.ERRORED, ("on_error",), {"error_reason": reason})
        return f"errored: {reason}"
    finally:
        watchdog.stop()
        job_logger.removeHandler(log_handler)


def _refusal(job_id: int) -> str | None:
    """Why this worker must not claim the job (None: it may). A worker never claims a job it cannot
    run: one its executor module does not route to Celery, whose class it cannot import, whose
    required packages it lacks, or that needs a GPU it does not have."""
    row = (
        Job.objects.filter(pk=job_id)
        .values(
            "runner", "template__executor_class", "template__required_packages", "template__min_hardware_generation"
        )
        .first()
    )
    if row is None:
        return None  # the claim says "no such job"
    executor_class = row["template__executor_class"]
    if row["runner"] != CELERY or runner_for(executor_class) != CELERY:
        return f"{executor_class} is not run by Celery workers here (runner {row['runner']})"
    try:
        load_executor_class(executor_class)
    except ExecutorLoadError as error:
        return error.message
    missing = missing_packages(row["template__required_packages"])
    if missing:
        return f"this worker lacks required packages: {', '.join(missing)}"
    needed = row["template__min_hardware_generation"]
    if needed and not _has_gpu(needed):
        return f"this worker has no GPU of generation {needed} or later"
    return None


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


def _run_claimed(
    claim: Claim,
    cancelled: threading.Event,
    watchdog: Watchdog,
    job_logger: logging.Logger,
    log_handler: CapturingHandler,
) -> str:
    job = Job.objects.select_related("template").get(pk=claim.job_id)
    template = job.template
    executor_class = load_executor_class(template.executor_class)
    if not contract_pin_accepts(executor_class.contract, template.contract):
        raise JobFailed(f"{template.executor_class} fulfils {executor_class.contract}, not {template.contract}")
    missing = missing_packages(template.required_packages)
    if missing:
        raise JobFailed(f"the worker lacks required packages: {', '.join(missing)}")

    def ensure_claimed() -> None:
        if job_heartbeat(claim=claim) is None:
            raise StaleClaim(f"job {claim.job_id} was claimed by another worker")

    def write(name: str, output_type: str, data: Any) -> None:
        ensure_claimed()
        job_output_write(job=job, name=name, output_type=output_type, data=data)

    def create_dataset(**arguments: Any) -> int:
        ensure_claimed()
        return dataset_create_for_job(job=job, stop=cancelled.is_set, **arguments)

    scratch_root = settings.JOB_SCRATCH_DIR
    if scratch_root:
        Path(scratch_root).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f"job-{job.pk}-", dir=scratch_root) as scratch:
        context = ExecutionContext(
            job_id=job.pk,
            inputs={name: _resolve(value, Path(scratch)) for name, value in job.input_values.items()},
            parameters={name: _resolve(value, Path(scratch)) for name, value in job.resolved_parameters.items()},
            outputs=template.outputs,
            scratch_dir=Path(scratch),
            cancelled=cancelled,
            write=write,
            logger=job_logger,
            dataset_files=lambda dataset: dataset_local_files(dataset, Path(scratch)),
            dataset_categories=lambda dataset: dataset_categories(dataset=dataset),
            create_dataset=create_dataset,
        )
        watchdog.context = context
        job_logger.info(
            "running %s (attempt %s) with %s",
            template.executor_class,
            claim.attempt,
            ", ".join(context.parameters) or "no parameters",
        )
        executor_class().run(context)
    if cancelled.is_set():
        return "cancelled"
    absent = [
        f"{name} ({output_type})"
        for name, output_type in template.outputs.items()
        if name not in context.written or not is_subtype(parse_type(context.written[name]), parse_type(output_type))
    ]
    if absent:
        raise JobFailed(f"the executor did not write its contract's outputs: {', '.join(absent)}")
    watchdog.flush_progress()
    _store_log(claim, log_handler.lines)
    _finish(claim, JobStatus.FINISHED, ("on_finish",), {"progress": 1.0})
    return "finished"


def _resolve(given: dict[str, Any], scratch: Path) -> Any:
    """What an executor receives for a given ``{value, type}``: rows, output files, or plain values."""
    declared = parse_type(given["type"])
    value = resolve_value(declared, given["value"], user=None)
    if isinstance(value, JobOutput):
        return OutputFile(
            pk=value.pk, name=value.name, type=value.type, job_id=value.job_id, path=_local_path(value, scratch)
        )
    return value


def _local_path(output: JobOutput, scratch: Path) -> Path:
    return _local_copy(output.file, scratch / "inputs" / f"{output.pk}-{output.name.replace(':', '_')}")


def _local_copy(stored: Any, target: Path) -> Path:
    """The stored file's own path on local storage, else a copy of it at ``target``."""
    try:
        return Path(stored.path)
    except NotImplementedError:  # remote storage (S3, …): fetch a copy into the scratch folder
        target.parent.mkdir(parents=True, exist_ok=True)
        with stored.open("rb") as source, target.open("wb") as copy:
            shutil.copyfileobj(source, copy, 1 << 20)
        return target


def dataset_local_files(dataset: Dataset, scratch: Path) -> Iterator[LocalFile]:
    """``ctx.dataset_files``: the dataset's files in name order, each at a local path."""
    # Listed up front: no database cursor stays open while the executor works on each file.
    for filename, stored in [
        (f.filename, f.file)
        for f in DatasetFile.objects.filter(dataset_id=dataset.pk).only("filename", "file").order_by("filename")
    ]:
        yield LocalFile(filename, _local_copy(stored, scratch / "datasets" / str(dataset.pk) / filename))


def dataset_create_for_job(
    *,
    job: Job,
    name: str,
    files: NewDatasetFiles,
    like: Dataset,
    description: str = "",
    categories: Mapping[str, list[str]] | None = None,
    stop: Callable[[], bool] = lambda: False,
) -> int:
    """``ctx.create_dataset``: a dataset owned by the job's creator, shaped after ``like`` (domain,
    licence, publicity; its project only when the creator may add datasets there), holding ``files``
    (and ``categories`` of them, for a classification dataset).

    Not one transaction: thousands of uploads would hold SQLite's write lock (and the watchdog's
    heartbeat) for their whole duration. Instead a failure or a cancellation (``stop()``) part-way
    hard-deletes the half-filled dataset, files included, and re-raises.
    """
    creator = job.creator
    project = like.project if creator is not None and _may_use_project(creator, like.project) else None
    dataset = dataset_create(
        creator=creator,
        name=name,
        domain=like.domain,
        licence=like.licence,
        description=description,
        project=project,
        is_public=like.is_public,
    )
    try:
        for filename, data in files:
            if stop():
                raise JobCancelled()
            content = ContentFile(data) if isinstance(data, bytes | bytearray) else File(Path(data).open("rb"))
            try:
                dataset_file_upload(dataset=dataset, filename=filename, content=content)
            finally:
                content.close()
        if categories:
            dataset_categories_set(dataset=dataset, categories=categories)
    except BaseException:
        dataset_hard_delete(dataset=dataset)
        raise
    return dataset.pk


def _may_use_project(user: Any, project: Any) -> bool:
    """Whether ``user`` may put a dataset into ``project`` (the dataset services' own rule)."""
    if project is None:
        return False
    try:
        check_project_for_datasets(user=user, project=project)
    except ApplicationError:
        return False
    return True


def _store_log(claim: Claim, lines: list[str]) -> None:
    if not lines:
        return
    try:
        with transaction.atomic():
            # Only while the claim holds: a run presumed dead must not replace its successor's log.
            job = Job.objects.select_for_update().filter(pk=claim.job_id, claim_token=claim.token).first()
            if job is None:
                logger.info("job %s was claimed again; not storing this run's log", claim.job_id)
                return
            job_output_write(job=job, name=LOG_OUTPUT[0], output_type=LOG_OUTPUT[1], data="\n".join(lines).encode())
    except Exception:  # the log is a convenience; never let it change the outcome
        logger.exception("could not store the log of job %s", claim.job_id)


def _finish(claim: Claim, status: str, actions: tuple[str, ...], fields: dict[str, Any]) -> None:
    try:
        job_transition(
            job_id=claim.job_id,
            to=status,
            actions=actions,
            token=claim.token,
            expected=(JobStatus.RUNNING,),
            fields={"end_time": timezone.now(), **fields},
        )
    except (IllegalTransition, StaleClaim) as error:
        # Cancelled (or reclaimed) while finishing: the job's record already says what happened.
        logger.info("job %s not marked %s: %s", claim.job_id, status, error)
