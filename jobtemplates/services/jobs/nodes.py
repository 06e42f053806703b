"""The job lifecycle as UFDL's job-launcher nodes drive it: acquire, start, progress, outputs, finish,
release and reset (http-api.md, "Nodes").

A node-run job (``runner == "node"``) is never sent to Celery. It waits ``created`` with no node until
a node acquires it: one conditional UPDATE, so two nodes racing for a job never both hold it (UFDL
read, checked and wrote in three steps, and two nodes could win). Acquiring takes a fresh claim token,
as a Celery worker's claim does; every later write by the node goes through the guarded transition
service with that token, so a node whose job was released (it went silent) and acquired by another
cannot write over its successor. A node acts only on the job it holds.
"""

from __future__ import annotations

import json
import math
import uuid
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.files import File
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from config.errors import Conflict, MalformedRequest, PermissionDenied, Problem
from config.text_limits import text_max_chars
from contracts.types import TypeParseError, is_subtype, parse_type
from jobtemplates.models import FINAL_STATUSES, Job, JobOutput, JobStatus
from jobtemplates.selectors import node_held_job_id
from jobtemplates.services.jobs.cancellation import job_abort
from jobtemplates.services.jobs.outputs import job_output_store
from jobtemplates.services.jobs.transitions import (
    Claim,
    IllegalTransition,
    job_progress,
    job_transition,
    notify_after_commit,
    parent_started,
)
from runners.capabilities import node_satisfies
from runners.models import Node
from runners.routing import NODE

UNFINISHED = (JobStatus.CREATED, JobStatus.RUNNING)


class JobAcquired(Conflict):
    code = "job_acquired"


class NodeBusy(Conflict):
    code = "node_busy"


class NotNodeJob(Conflict):
    code = "not_node_job"


class NodeUnfit(Conflict):
    code = "node_unfit"


def _held(job: Job, node: Node | None, *, what: str, admin: bool = False) -> None:
    """Refuse unless ``node`` holds ``job`` (or the caller is an admin acting without a node)."""
    if node is None:
        if admin:
            return
        raise PermissionDenied(f"Only a node (a request with Node-Id) may {what} a job.", code="not_a_node")
    if job.node_id != node.pk:
        raise PermissionDenied(
            f"Job {job.pk} is not held by node {node.pk}; a node may {what} only the job it holds.",
            code="not_holder",
        )


def job_acquire(*, job: Job, node: Node) -> Job:
    """``GET /v1/jobs/{pk}/acquire``: ``node`` takes a queued node job. Acquiring a job this node
    already holds answers it again; another node's job, a started one, a Celery job, or a node that
    holds another unfinished job or lacks the hardware are 409s."""
    if job.node_id == node.pk and job.status == JobStatus.CREATED:
        return job
    if job.runner != NODE:
        raise NotNodeJob(
            f"Job {job.pk} is run by {job.runner}, not by nodes.", extra={"runner": job.runner, "status": job.status}
        )
    needed = job.template.min_hardware_generation
    if not node_satisfies(node, needed):
        raise NodeUnfit(
            f"Job {job.pk} needs hardware generation {needed} or later; node {node.pk} has "
            f"{node.hardware_generation or 'none'}.",
            extra={"min_hardware_generation": needed},
        )
    now = timezone.now()
    with transaction.atomic():
        # The node's row lock serialises this node's acquires with each other (a node never holds two
        # jobs) and with the node's deletion (which checks, under the same lock, that it holds none).
        if not Node.objects.select_for_update().filter(pk=node.pk).exists():
            raise Conflict(f"Node {node.pk} has been removed.", code="node_removed")
        busy = node_held_job_id(node)
        if busy is not None and busy != job.pk:
            raise NodeBusy(f"Node {node.pk} already holds job {busy}; finish or release it first.", extra={"job": busy})
        taken = Job.objects.filter(
            pk=job.pk,
            runner=NODE,
            status=JobStatus.CREATED,
            node__isnull=True,
            is_cancelled=False,
            deletion_time__isnull=True,
        ).update(node=node, claim_token=uuid.uuid4(), heartbeat=now, attempts=F("attempts") + 1, worker=None)
        if not taken:
            job.refresh_from_db()
            if job.node_id is not None:
                raise JobAcquired(
                    f"Job {job.pk} has been acquired by node {job.node_id}.",
                    extra={"node": job.node_id, "status": job.status},
                )
            raise IllegalTransition(
                f"A {job.status} job cannot be acquired.",
                problems=[Problem(path="status", code="illegal_transition", message=f"{job.status} → acquired")],
                extra={"status": job.status},
            )
        job.refresh_from_db()
        notify_after_commit(job, ("on_acquire",), {"node": node.pk, "attempt": job.attempts})
    return job


def job_start(*, job: Job, node: Node) -> Job:
    """``POST /v1/jobs/{pk}/start``: the holding node starts the job it acquired (fires on_start)."""
    _held(job, node, what="start")
    started = job_transition(
        job_id=job.pk,
        to=JobStatus.RUNNING,
        actions=("on_start",),
        token=job.claim_token,
        expected=(JobStatus.CREATED,),
        fields={"start_time": timezone.now(), "heartbeat": timezone.now(), "end_time": None, "error_reason": None},
        transition_data={"node": node.pk, "attempt": job.attempts},
    )
    if started.parent_id is not None:
        parent_id = started.parent_id
        transaction.on_commit(lambda: parent_started(parent_id))
    return started


def parse_progress(raw: str) -> float:
    """The path's fraction (Python's float repr, e.g. ``0.42000000000000004``), within [0, 1]."""
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not 0.0 <= value <= 1.0:
        raise MalformedRequest(
            problems=[Problem(path="progress", code="invalid_progress", message="a number from 0 to 1")]
        )
    return value


def job_node_progress(*, job: Job, node: Node, progress: float, data: dict[str, Any]) -> Job:
    """``POST /v1/jobs/{pk}/progress/{fraction}``: the holding node's progress (body: ``comment`` and
    any data), stored as Celery jobs' progress is; ``on_progress`` fires at most every
    JOB_PROGRESS_NOTIFY_SECONDS per job."""
    _held(job, node, what="report progress on")
    size = len(json.dumps(data, separators=(",", ":")).encode())
    if size > settings.JOB_PROGRESS_DATA_MAX_BYTES:
        limit = settings.JOB_PROGRESS_DATA_MAX_BYTES
        raise MalformedRequest(
            f"The progress data has {size} bytes as JSON; at most {limit} (JOB_PROGRESS_DATA_MAX_BYTES).",
            problems=[Problem(path="", code="too_large", message=f"at most {limit} bytes as JSON")],
            code="progress_data_too_large",
            extra={"limit": limit},
        )
    if job.status != JobStatus.RUNNING:
        raise IllegalTransition(
            f"Only a running job reports progress; job {job.pk} is {job.status}.",
            problems=[Problem(path="status", code="not_running", message=job.status)],
            extra={"status": job.status},
        )
    notify = cache.add(f"job-progress-notified:{job.pk}", 1, timeout=settings.JOB_PROGRESS_NOTIFY_SECONDS)
    claim = Claim(job_id=job.pk, token=job.claim_token, attempt=job.attempts)
    if not job_progress(claim=claim, progress=progress, data=data, notify=notify):
        job.refresh_from_db()
        raise IllegalTransition(
            f"Job {job.pk} is {job.status}; its progress was not recorded.", extra={"status": job.status}
        )
    job.refresh_from_db()
    return job


def job_node_output(
    *, job: Job, node: Node | None, admin: bool, name: str, type_string: str, content: File
) -> JobOutput:
    """``POST /v1/jobs/{pk}/outputs/{name}/{type}``: the raw bytes of an output, as the node formatted
    them (a Compressed output comes zipped; a JSON one is checked against its type). A started,
    unfinished job only; an output of that name and type already stored is a 409."""
    _held(job, node, what="add outputs to", admin=admin)
    problems = []
    if not name or len(name) > 300:
        problems.append(Problem(path="name", code="invalid_name", message="1 to 300 characters"))
    try:
        output_type = parse_type(type_string)
    except TypeParseError as error:
        problems.append(Problem(path="type", code="unparseable_type", message=str(error)))
        output_type = None
    if problems:
        raise MalformedRequest(problems=problems)
    assert output_type is not None  # it parsed: no problem above
    if job.status != JobStatus.RUNNING:
        raise IllegalTransition(
            f"Outputs are added while a job runs; job {job.pk} is {job.status}.",
            problems=[Problem(path="status", code="not_running", message=job.status)],
            extra={"status": job.status},
        )
    if job.outputs.filter(name=name, type=str(output_type), deletion_time__isnull=True).exists():
        raise Conflict(
            f"Job {job.pk} already has an output {name!r} of type {output_type}.",
            code="output_exists",
            problems=[Problem(path="name", code="output_exists", message=f"{name}/{output_type}")],
        )
    return job_output_store(job=job, name=name, output_type=output_type, content=content)


def job_finish(*, job: Job, node: Node, success: bool, error: str | None) -> Job:
    """``POST /v1/jobs/{pk}/finish``: the holding node ends the job. Success needs the contract's
    outputs uploaded (else the job errors, saying which are missing); failure errors it with
    ``error``. A failure may also end a job acquired but never started (a node restarting)."""
    _held(job, node, what="finish")
    now = timezone.now()
    if success:
        absent = _absent_outputs(job)
        if absent:
            success, error = False, f"the node did not upload its contract's outputs: {', '.join(absent)}"
    if success:
        return job_transition(
            job_id=job.pk,
            to=JobStatus.FINISHED,
            actions=("on_finish",),
            token=job.claim_token,
            expected=(JobStatus.RUNNING,),
            fields={"end_time": now, "progress": 1.0},
            transition_data={"node": node.pk},
        )
    return job_transition(
        job_id=job.pk,
        to=JobStatus.ERRORED,
        actions=("on_error",),
        token=job.claim_token,
        expected=UNFINISHED,
        fields={
            "end_time": now,
            "error_reason": bounded_error(error or "the node reported a failure without a reason"),
        },
        transition_data={"node": node.pk},
    )


def bounded_error(error: str) -> str:
    """A node's error reason within TEXT_FIELD_MAX_CHARS: a longer one (a whole log) keeps its start
    and its end, where a traceback says what failed. Never refused: the job must end either way."""
    limit = text_max_chars()
    if len(error) <= limit:
        return error
    marker = f"\n… [{len(error) - limit} characters left out: TEXT_FIELD_MAX_CHARS] …\n"
    keep = max(0, limit - len(marker))
    head = keep // 3
    return error[:head] + marker + error[len(error) - (keep - head) :]


def _absent_outputs(job: Job) -> list[str]:
    written = [(o.name, o.type) for o in job.outputs.filter(deletion_time__isnull=True)]
    absent = []
    for name, output_type in job.template.outputs.items():
        wanted = parse_type(output_type)
        if not any(n == name and is_subtype(parse_type(t), wanted) for n, t in written):
            absent.append(f"{name} ({output_type})")
    return absent


def job_release(*, job: Job, node: Node | None, admin: bool) -> Job:
    """``DELETE /v1/jobs/{pk}/release``: give back an acquired, not yet started job (the holding node,
    or an admin), to be acquired again. A job nobody holds is answered as it is; a started one is a
    409 (finish, reset or abort it)."""
    if job.node_id is None and job.status == JobStatus.CREATED:
        return job
    _held(job, node, what="release", admin=admin)
    if job.status != JobStatus.CREATED:
        raise IllegalTransition(
            f"A {job.status} job cannot be released; finish, reset or abort it.",
            problems=[Problem(path="status", code="illegal_transition", message=f"{job.status} → released")],
            extra={"status": job.status},
        )
    with transaction.atomic():
        released = Job.objects.filter(pk=job.pk, status=JobStatus.CREATED, claim_token=job.claim_token).update(
            node=None, claim_token=None, heartbeat=None
        )
        if not released:
            job.refresh_from_db()
            raise IllegalTransition(f"Job {job.pk} changed meanwhile ({job.status}).", extra={"status": job.status})
        job.refresh_from_db()
        notify_after_commit(job, ("on_release",), {"node": node.pk if node else None})
    return job


def job_reset(*, job: Job, node: Node | None, admin: bool) -> Job:
    """``DELETE /v1/jobs/{pk}/reset``: an errored job back to ``created`` with its outputs removed (its
    node, or an admin). Its node lets go of it, so it can be acquired (or, for a Celery job, it is
    queued) again. UFDL's launcher resets the job it held when it restarted mid-job."""
    if not admin:
        _held(job, node, what="reset")
    if job.status in FINAL_STATUSES and job.status != JobStatus.ERRORED:
        raise IllegalTransition(
            f"Only an errored job can be reset; job {job.pk} is {job.status}.",
            problems=[Problem(path="status", code="illegal_transition", message=f"{job.status} → created")],
            extra={"status": job.status},
        )
    return job_abort(job=job, expected=(JobStatus.ERRORED,), actions=("on_reset",))
