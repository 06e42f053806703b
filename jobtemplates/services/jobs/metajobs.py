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
from django.db.models import Expression, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Least
from django.utils import timezone

from jobtemplates.graph import SEPARATOR, edge_passes_value
from jobtemplates.models import FINAL_STATUSES, Job, JobOutput, JobStatus, JobTemplate
from jobtemplates.services.jobs.cancellation import job_cancel_tree
from jobtemplates.services.jobs.enqueueing import job_route, job_send_after_commit, job_sent_on_insert
from jobtemplates.services.jobs.kept_templates import MetaNodeShape, meta_graph
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
    """Create the children whose upstream all finished. The graph is kept per process (a template
    version never changes); the upstream outputs they are wired to are read in one query, and every
    child is checked and built before anything is written, so a missing output (``LookupError``)
    leaves nothing to roll back. Each child is inserted already marked sent (no UPDATE after it)."""
    graph = meta_graph(parent.template)
    ready = [
        node
        for node in graph.nodes
        if node.name not in children
        and all(name in children and children[name].status == JobStatus.FINISHED for name in node.upstream)
    ]
    if not ready:
        return []
    outputs = _upstream_outputs([(children[e.from_node].pk, e.from_output) for node in ready for e in node.feeding])
    built = [_build_child(parent, node, children, outputs) for node in ready]
    created = []
    for node, child in zip(ready, built, strict=True):
        sent = job_sent_on_insert(job=child)
        child.save(force_insert=True)
        if node.child.is_meta:
            _create_ready_children(child, children={})
        elif sent:
            job_send_after_commit(job=child)
        children[node.name] = child
        created.append(child)
    return created


def _build_child(parent: Job, node: MetaNodeShape, children: dict[str, Job], outputs: dict) -> Job:
    child_template = node.child
    input_values = {}
    fed = {edge.to_input: edge for edge in node.feeding}
    given_inputs = _strip(parent.input_values, node.name)
    for name, allowed in child_template.inputs.items():
        edge = fed.get(name)
        if edge is None:
            if name in given_inputs:
                input_values[name] = given_inputs[name]
            continue
        upstream = children[edge.from_node]
        output = outputs.get((upstream.pk, edge.from_output))
        if output is None:
            raise LookupError(f"finished job {upstream.pk} has no output {edge.from_output!r}")
        if edge_passes_value(output.type, allowed):
            input_values[name] = {"value": decode_json_output(output), "type": output.type}
        else:
            input_values[name] = {"value": output.pk, "type": f"JobOutput<{output.type}>"}
    overrides = parent.child_notification_overrides or {}
    runner, queue = job_route(child_template)
    return Job(
        template=child_template,
        runner=runner,
        queue=queue,
        parent=parent,
        child_name=node.name,
        creator_id=parent.creator_id,
        project_id=parent.project_id,
        description=parent.description,
        input_values=input_values,
        parameter_values=_strip(parent.parameter_values, node.name),
        resolved_parameters=_strip(parent.resolved_parameters, node.name),
        notification_override=overrides.get(node.name),
        child_notification_overrides=_strip(overrides, node.name) or None,
    )


def _upstream_outputs(wanted: list[tuple[int, str]]) -> dict[tuple[int, str], JobOutput]:
    """(job pk, output name) → that finished job's latest live output of the name: one query for all."""
    if not wanted:
        return {}
    rows = JobOutput.objects.filter(
        job_id__in={job_id for job_id, _ in wanted},
        name__in={name for _, name in wanted},
        deletion_time__isnull=True,
    ).order_by("pk")
    latest = {(output.job_id, output.name): output for output in rows}  # the highest pk wins
    return {key: latest[key] for key in wanted if key in latest}


def meta_job_children(*, parent_id: int) -> dict[str, Job]:
    """A meta-job's current children by node name (not those a retry replaced), with CHILD_FIELDS."""
    current = Job.objects.filter(parent_id=parent_id, superseded_time__isnull=True).only(*CHILD_FIELDS)
    return {child.child_name: child for child in current.order_by("pk")}


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


def meta_job_progress(*, parent_id: int) -> int:
    """Set a meta-job's progress to the mean of its children's over all its nodes (a node without a job
    yet counts 0), and so on up its ancestors; returns the parent's number of nodes."""
    row = (
        Job.objects.filter(pk=parent_id)
        .select_related("template")
        .only("parent_id", "template_id", "template__creation_time")
        .first()
    )
    if row is None:
        return 0
    return _progress(parent_id=parent_id, template=row.template, grandparent_id=row.parent_id)


def _progress(*, parent_id: int, template: JobTemplate, grandparent_id: int | None) -> int:
    """``meta_job_progress`` knowing the parent's template and parent: the number of nodes comes from
    the kept graph and the mean is computed in the UPDATE itself (one statement per ancestor)."""
    nodes = len(meta_graph(template).nodes)
    progress: Expression
    if nodes:
        current = Job.objects.filter(parent_id=parent_id, superseded_time__isnull=True)
        done = current.order_by().values("parent_id").annotate(total=Sum("progress"))
        mean = Coalesce(Subquery(done.values("total")), Value(0.0)) / Value(float(nodes))
        progress = Least(mean, Value(1.0))
    else:
        progress = Value(1.0)
    Job.objects.filter(pk=parent_id).exclude(status__in=FINAL_STATUSES).update(progress=progress)
    if grandparent_id is not None:
        meta_job_progress(parent_id=grandparent_id)
    return nodes


def meta_job_advance(*, parent_id: int) -> None:
    """Bring a meta-job up to date with its children: stop on an error or cancel, create the children
    whose upstream finished, surface finished children's outputs, update progress, finish when done."""
    with transaction.atomic():
        # Only the parent's row is locked (not its template's: jobs of one template advance independently).
        parent = Job.objects.select_for_update(of=("self",)).filter(pk=parent_id).select_related("template").first()
        if parent is None or parent.status in FINAL_STATUSES:
            return
        children = meta_job_children(parent_id=parent.pk)
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
            # Everything is checked before anything is written: a LookupError leaves nothing behind.
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
        nodes = _progress(parent_id=parent.pk, template=parent.template, grandparent_id=parent.parent_id)
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
