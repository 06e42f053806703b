"""Retry a meta-job: re-create only the children that did not finish and what depends on them.

A meta-job that errored or was cancelled keeps its finished children and their outputs. A retry
re-runs the rest: every node whose current child errored, was cancelled or was never made, and every
node downstream of one of those (it consumed, or would have consumed, what they make). The finished
children outside that set are kept, and the new children are wired to their ``JobOutput`` rows, the
same rows, not copies. The replaced children stay as jobs of the meta-job with ``superseded_time``
set (their logs and reasons are history); advancing, progress and the job's ``children`` follow only
the current ones.

Changed parameter values (``node:param``, as create-job names a meta-template's parameters) and
notification overrides are checked as create-job checks a whole body: the meta-job's values merged with
the changes go through create-job's dry run, so every problem comes back at once with its path. A
change for a node that is not re-run is refused (it would change nothing).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from config.errors import Conflict, InvalidRequest, Problem
from jobtemplates.graph import SEPARATOR
from jobtemplates.models import Job, JobOutput, JobStatus
from jobtemplates.services.jobs.creation import job_create
from jobtemplates.services.jobs.kept_templates import meta_graph
from jobtemplates.services.jobs.metajobs import _create_ready_children, _progress, meta_job_children

RETRYABLE = (JobStatus.ERRORED, JobStatus.CANCELLED)
CHANGE_KEYS = ("parameter_values", "notification_override", "child_notification_overrides")


class NotRetryable(Conflict):
    """The job cannot be retried now (not a meta-job, a child, or not errored or cancelled)."""

    code = "not_retryable"


@dataclass
class RetryPlan:
    """What a retry does: the nodes it re-runs (in the graph's order), the finished children it keeps
    with the outputs it re-uses, and the children it replaces."""

    rerun: list[str] = field(default_factory=list)
    kept: dict[str, int] = field(default_factory=dict)  # node → its finished child's pk
    reused_outputs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # node → [{pk, name, type}]
    superseded: dict[str, int] = field(default_factory=dict)  # node → the replaced child's pk

    def as_dict(self) -> dict[str, Any]:
        return {
            "rerun": self.rerun,
            "kept": self.kept,
            "reused_outputs": self.reused_outputs,
            "superseded": self.superseded,
        }


def meta_job_retry(
    *, job: Job, by: Any, changes: Mapping[str, Any] | None = None, dry_run: bool = False
) -> tuple[Job, RetryPlan]:
    """Retry the errored or cancelled meta-job ``job`` as ``by`` (its creator or an admin: the caller
    checks). ``changes``: ``parameter_values`` by ``node:param``, ``notification_override`` (the
    meta-job's own) and ``child_notification_overrides`` (by node), checked as create-job checks them.
    With ``dry_run`` nothing is written. Returns the meta-job (as it is now) and the plan."""
    _refuse_unless_retryable(job)
    changes = dict(changes or {})
    children = meta_job_children(parent_id=job.pk)
    plan = _plan(job, children)
    checked = _checked_values(job, by, changes, plan)
    if dry_run:
        return job, plan
    with transaction.atomic():
        parent = Job.objects.select_for_update(of=("self",)).select_related("template").get(pk=job.pk)
        _refuse_unless_retryable(parent)
        current = meta_job_children(parent_id=parent.pk)
        if {name: child.pk for name, child in current.items()} != {**plan.kept, **plan.superseded}:
            raise NotRetryable(f"Job {job.pk}'s children changed while the retry was planned: try again.")
        now = timezone.now()
        Job.objects.filter(pk__in=plan.superseded.values()).update(superseded_time=now)
        fields = {
            "status": JobStatus.CREATED,
            "end_time": None,
            "error_reason": None,
            "is_cancelled": False,
            "parameter_values": checked.parameter_values,
            "resolved_parameters": checked.resolved_parameters,
            "notification_override": checked.notification_override,
            "child_notification_overrides": checked.child_notification_overrides,
        }
        Job.objects.filter(pk=parent.pk).update(**fields)
        for name, value in fields.items():
            setattr(parent, name, value)
        kept = {name: child for name, child in current.items() if name in plan.kept}
        try:
            _create_ready_children(parent, kept)
        except LookupError as error:  # a kept child's output was deleted since: nothing was written
            transaction.set_rollback(True)
            raise NotRetryable(f"Job {job.pk} cannot be retried: {error}.") from error
        _progress(parent_id=parent.pk, template=parent.template, grandparent_id=parent.parent_id)
    return Job.objects.get(pk=job.pk), plan


def _refuse_unless_retryable(job: Job) -> None:
    if job.parent_id is not None:
        parent_status = Job.objects.filter(pk=job.parent_id).values_list("status", flat=True).first()
        raise NotRetryable(
            f"Job {job.pk} is the {job.child_name!r} child of meta-job {job.parent_id} ({parent_status}): "
            "retry the meta-job once it has errored or been cancelled; it re-runs this child.",
            problems=[Problem(path="", code="child_job", message="a meta-job's child is retried through its parent")],
            extra={"parent": job.parent_id, "parent_status": parent_status},
        )
    if not job.template.is_meta:
        raise NotRetryable(
            f"Job {job.pk} is not a meta-job: relaunch it (POST /v1/jobs/{job.pk}/relaunch).",
            problems=[Problem(path="", code="not_meta", message="only a meta-job's children can be retried")],
        )
    if job.status not in RETRYABLE:
        raise NotRetryable(
            f"Job {job.pk} is {job.status}: only an errored or cancelled meta-job can be retried.",
            problems=[Problem(path="", code="wrong_status", message=f"the meta-job is {job.status}")],
            extra={"status": job.status},
        )


def _plan(job: Job, children: dict[str, Job]) -> RetryPlan:
    graph = meta_graph(job.template)
    rerun: set[str] = set()
    for node in graph.nodes:  # in position order; a downstream node may come first: close over the edges
        child = children.get(node.name)
        if child is None or child.status != JobStatus.FINISHED:
            rerun.add(node.name)
    grown = True
    while grown:
        grown = False
        for node in graph.nodes:
            if node.name not in rerun and node.upstream & rerun:
                rerun.add(node.name)
                grown = True
    plan = RetryPlan(rerun=[node.name for node in graph.nodes if node.name in rerun])
    for node in graph.nodes:
        child = children.get(node.name)
        if child is None:
            continue
        if node.name in rerun:
            plan.superseded[node.name] = child.pk
        else:
            plan.kept[node.name] = child.pk
    # The kept children's outputs the re-run ones are wired to (one query).
    used = {
        (plan.kept[edge.from_node], edge.from_output)
        for node in graph.nodes
        if node.name in rerun
        for edge in node.feeding
        if edge.from_node in plan.kept
    }
    if used:
        rows = JobOutput.objects.filter(
            job_id__in={pk for pk, _ in used}, name__in={name for _, name in used}, deletion_time__isnull=True
        ).order_by("pk")
        by_child = {pk: name for name, pk in plan.kept.items()}
        for output in rows:
            if (output.job_id, output.name) in used:
                plan.reused_outputs.setdefault(by_child[output.job_id], []).append(
                    {"pk": output.pk, "name": output.name, "type": output.type}
                )
    return plan


@dataclass(frozen=True)
class CheckedValues:
    parameter_values: dict
    resolved_parameters: dict
    notification_override: Any
    child_notification_overrides: Any


def _checked_values(job: Job, by: Any, changes: dict[str, Any], plan: RetryPlan) -> CheckedValues:
    """The meta-job's values with ``changes`` merged in, checked by create-job's dry run (every problem
    located, as create-job locates them), after refusing keys it does not take and changes for nodes
    that are not re-run."""
    problems = [
        Problem(path=key, code="unknown_key", message=f"a retry takes {', '.join(CHANGE_KEYS)}")
        for key in changes
        if key not in CHANGE_KEYS
    ]
    parameters = changes.get("parameter_values", {})
    overrides = changes.get("child_notification_overrides", {})
    for key, value in (("parameter_values", parameters), ("child_notification_overrides", overrides)):
        if not isinstance(value, dict):
            problems.append(Problem(path=key, code="wrong_type", message=f"{key} must be an object"))
    rerun = set(plan.rerun)
    if isinstance(parameters, dict):
        for name in parameters:
            node = str(name).split(SEPARATOR, 1)[0]
            if node not in rerun:
                problems.append(
                    Problem(
                        path=f"parameter_values.{name}",
                        code="not_retried",
                        message=f"node {node!r} is not re-run by this retry (re-run: {', '.join(plan.rerun)})",
                    )
                )
    if isinstance(overrides, dict):
        for node in overrides:
            if node not in rerun:
                problems.append(
                    Problem(
                        path=f"child_notification_overrides.{node}",
                        code="not_retried",
                        message=f"node {node!r} is not re-run by this retry",
                    )
                )
    if problems:
        raise InvalidRequest("The retry's changes are not valid.", problems=problems)
    body = {
        "input_values": job.input_values,
        "parameter_values": {**(job.parameter_values or {}), **parameters},
        "description": job.description,
        "queue_anyway": True,  # whether anything runs it now is the children's concern, as at create-job
    }
    notification_override = changes.get("notification_override", job.notification_override)
    child_overrides = {**(job.child_notification_overrides or {}), **overrides} or None
    if notification_override is not None:
        body["notification_override"] = notification_override
    if child_overrides is not None:
        body["child_notification_overrides"] = child_overrides
    checked = job_create(template=job.template, body=body, creator=by, dry_run=True)
    return CheckedValues(
        parameter_values=checked.parameter_values,
        resolved_parameters=checked.resolved_parameters,
        notification_override=checked.notification_override,
        child_notification_overrides=checked.child_notification_overrides,
    )
