"""Meta-jobs: children are created once their upstream children finished, and the parent follows them.

Policy (stated here because it is a choice): a child that errors errors the parent, and a child that is
cancelled cancels the parent; either way the remaining queued and running children are cancelled.
Finished children's outputs appear on the parent as ``child:output``. The parent's progress is the
mean of its children's over all its nodes (a node not started yet counts 0). Every change to a
parent happens with its row locked, so children finishing at once cannot create a child twice.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.db.models import Avg, Count
from django.utils import timezone

from jobtemplates.graph import SEPARATOR, edge_passes_value
from jobtemplates.models import FINAL_STATUSES, Job, JobOutput, JobStatus, MetaNode
from jobtemplates.services.jobs.cancellation import job_cancel_tree
from jobtemplates.services.jobs.enqueueing import job_enqueue, job_route
from jobtemplates.services.jobs.outputs import decode_json_output, job_outputs_surface
from jobtemplates.services.jobs.transitions import IllegalTransition, job_transition

logger = logging.getLogger(__name__)
# What advancing reads of each child (not its JSON values): a parent advances after every child.
CHILD_FIELDS = ("pk", "child_name", "status", "error_reason", "parent_id", "template_id")


def _strip(mapping: dict | None, node: str) -> dict:
    """Entries of ``node:…`` keys, with the node prefix removed."""
    prefix = f"{node}{SEPARATOR}"
    return {key[len(prefix) :]: value for key, value in (mapping or {}).items() if key.startswith(prefix)}


def meta_job_start(*, parent: Job) -> list[Job]:
    """Create the parent's ready children (those with no upstream) inside the caller's transaction."""
    return _create_ready_children(parent, children={})


def _create_ready_children(parent: Job, children: dict[str, Job]) -> list[Job]:
    template = parent.template
    # Each node's template is read only when its child is created (node.child): advancing a parent
    # happens after every child, and most nodes exist already.
    nodes = list(MetaNode.objects.filter(template=template).only("name", "position", "child_id").order_by("position"))
    edges = list(template.dependencies.order_by("position"))
    created = []
    for node in nodes:
        if node.name in children:
            continue
        upstream = {edge.from_node for edge in edges if edge.to_node == node.name}
        if not all(name in children and children[name].status == JobStatus.FINISHED for name in upstream):
            continue
        child = _create_child(parent, node, [e for e in edges if e.to_node == node.name], children)
        children[node.name] = child
        created.append(child)
    return created


def _create_child(parent: Job, node: MetaNode, feeding: list, children: dict[str, Job]) -> Job:
    child_template = node.child
    input_values = {}
    fed = {edge.to_input: edge for edge in feeding}
    given_inputs = _strip(parent.input_values, node.name)
    for name, allowed in child_template.inputs.items():
        edge = fed.get(name)
        if edge is None:
            if name in given_inputs:
                input_values[name] = given_inputs[name]
            continue
        upstream = children[edge.from_node]
        output = _upstream_output(upstream, edge.from_output)
        if edge_passes_value(output.type, allowed):
            input_values[name] = {"value": decode_json_output(output), "type": output.type}
        else:
            input_values[name] = {"value": output.pk, "type": f"JobOutput<{output.type}>"}
    overrides = parent.child_notification_overrides or {}
    runner, queue = job_route(child_template)
    child = Job.objects.create(
        template=child_template,
        runner=runner,
        queue=queue,
        parent=parent,
        child_name=node.name,
        creator=parent.creator,
        project_id=parent.project_id,
        description=parent.description,
        input_values=input_values,
        parameter_values=_strip(parent.parameter_values, node.name),
        resolved_parameters=_strip(parent.resolved_parameters, node.name),
        notification_override=overrides.get(node.name),
        child_notification_overrides=_strip(overrides, node.name) or None,
    )
    if child_template.is_meta:
        _create_ready_children(child, children={})
    else:
        job_enqueue(job=child)
    return child


def _upstream_output(upstream: Job, name: str) -> JobOutput:
    output = upstream.outputs.filter(name=name, deletion_time__isnull=True).order_by("-pk").first()
    if output is None:
        raise LookupError(f"finished job {upstream.pk} has no output {name!r}")
    return output


def meta_job_child_started(*, parent_id: int) -> None:
    """A child was claimed: the parent (and its ancestors) are running from now on."""
    parent = Job.objects.filter(pk=parent_id).only("status", "parent_id").first()
    while parent is not None and parent.status == JobStatus.CREATED:
        try:
            job_transition(
                job_id=parent.pk,
                to=JobStatus.RUNNING,
                actions=("on_start",),
                expected=(JobStatus.CREATED,),
                fields={"start_time": timezone.now()},
            )
        except IllegalTransition:  # a sibling moved it first, or it was cancelled meanwhile
            logger.debug("parent %s already moved", parent.pk)
        parent = Job.objects.filter(pk=parent.parent_id).only("status", "parent_id").first()


def meta_job_progress(*, parent_id: int, template_id: int | None = None) -> int:
    """Set a meta-job's progress to the mean of its children's over all its nodes (a node without a job
    yet counts 0), and so on up its ancestors; returns the parent's number of nodes."""
    if template_id is None:
        template_id = Job.objects.filter(pk=parent_id).values_list("template_id", flat=True).first()
    nodes = MetaNode.objects.filter(template_id=template_id).count()
    totals = Job.objects.filter(parent_id=parent_id).aggregate(total=Avg("progress"), count=Count("pk"))
    done = (totals["total"] or 0.0) * totals["count"]
    Job.objects.filter(pk=parent_id).exclude(status__in=FINAL_STATUSES).update(
        progress=min(1.0, done / nodes) if nodes else 1.0
    )
    grandparent_id = Job.objects.filter(pk=parent_id).values_list("parent_id", flat=True).first()
    if grandparent_id is not None:
        meta_job_progress(parent_id=grandparent_id)
    return nodes


def meta_job_advance(*, parent_id: int) -> None:
    """Bring a meta-job up to date with its children: stop on an error or cancel, create the children
    whose upstream finished, surface finished children's outputs, update progress, finish when done."""
    with transaction.atomic():
        parent = Job.objects.select_for_update().filter(pk=parent_id).select_related("template").first()
        if parent is None or parent.status in FINAL_STATUSES:
            return
        children = {child.child_name: child for child in parent.children.only(*CHILD_FIELDS)}
        job_outputs_surface(parent=parent, children=[c for c in children.values() if c.status == JobStatus.FINISHED])
        broken = [c for c in children.values() if c.status in (JobStatus.ERRORED, JobStatus.CANCELLED)]
        if broken:
            first = broken[0]
            for child in children.values():
                if child.status not in FINAL_STATUSES:
                    job_cancel_tree(job_id=child.pk, reason=f"sibling {first.child_name} {first.status}")
            if first.status == JobStatus.ERRORED:
                reason = f"child {first.child_name} errored: {first.error_reason}"
                job_transition(
                    job_id=parent.pk,
                    to=JobStatus.ERRORED,
                    actions=("on_error",),
                    fields={"end_time": timezone.now(), "error_reason": reason},
                )
            else:
                job_transition(
                    job_id=parent.pk,
                    to=JobStatus.CANCELLED,
                    actions=("on_cancel",),
                    fields={
                        "end_time": timezone.now(),
                        "is_cancelled": True,
                    },
                )
            return
        try:
            with transaction.atomic():
                _create_ready_children(parent, children)
        except LookupError as error:
            # A finished child's output is gone (deleted by an admin): the graph cannot go on.
            for child in children.values():
                if child.status not in FINAL_STATUSES:
                    job_cancel_tree(job_id=child.pk, reason="the meta-job cannot continue")
            job_transition(
                job_id=parent.pk,
                to=JobStatus.ERRORED,
                actions=("on_error",),
                fields={"end_time": timezone.now(), "error_reason": f"cannot wire the next child: {error}"},
            )
            return
        nodes = meta_job_progress(parent_id=parent.pk, template_id=parent.template_id)
        if len(children) == nodes and all(c.status == JobStatus.FINISHED for c in children.values()):
            if parent.status == JobStatus.CREATED:
                job_transition(
                    job_id=parent.pk, to=JobStatus.RUNNING, actions=("on_start",), fields={"start_time": timezone.now()}
                )
            job_transition(
                job_id=parent.pk,
                to=JobStatus.FINISHED,
                actions=("on_finish",),
                fields={"end_time": timezone.now(), "progress": 1.0},
            )
