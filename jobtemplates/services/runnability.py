"""Can anything run a template's jobs now? Templates' needs judged against one snapshot of the fleet.

A workable template is judged by ``runners.capabilities.Fleet``; a meta-template is runnable when every
workable template below it is (children may be meta-templates themselves). Any mix of templates costs
the fleet's snapshot plus, for meta-templates whose nodes were not prefetched, one query per level of
nesting: never a query per template (docs/runners.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet

from jobtemplates.graph import SEPARATOR
from jobtemplates.models import JobTemplate, MetaNode
from runners.capabilities import Fleet, Needs, Verdict
from runners.routing import NONE, queue_for, resolved_queue

# A runnable meta-template whose workable descendants are run by both Celery workers and nodes.
MIXED = "mixed"
# What a verdict reads of a template (the light query of the ?runnable filter loads only these).
VERDICT_FIELDS = (
    "id",
    "kind",
    "name",
    "version",
    "executor_class",
    "required_packages",
    "queue",
    "min_hardware_generation",
)


def template_needs(template: Any) -> Needs:
    """What a workable template (or a workable draft) needs of whatever runs its jobs."""
    queue = queue_for(queue=template.queue, min_hardware_generation=template.min_hardware_generation)
    return Needs(
        template=f"{template.name} v{template.version}",
        executor_class=template.executor_class,
        required_packages=template.required_packages,
        queue=resolved_queue(queue),
        min_hardware_generation=template.min_hardware_generation,
    )


def runnability(templates: Iterable[JobTemplate], *, fleet: Fleet | None = None) -> dict[int, Verdict]:
    """template pk → whether its jobs can run now, for any mix of workable and meta-templates."""
    templates = list(templates)
    fleet = fleet if fleet is not None else Fleet.load()
    memo = fleet.verdict_memo

    def judge(template: JobTemplate) -> Verdict:
        # A verdict reads only these of a template (Fleet.verdict: its reasons do not name it).
        key = (template.executor_class, template.required_packages, template.queue, template.min_hardware_generation)
        verdict = memo.get(key)
        if verdict is None:
            verdict = memo[key] = fleet.verdict(template_needs(template))
        return verdict

    metas = [template for template in templates if template.is_meta]
    descendants = workable_descendants(metas)
    verdicts = {}
    for template in templates:
        if template.is_meta:
            verdicts[template.pk] = meta_verdict(
                [(path, child, judge(child)) for path, child in descendants[template.pk]]
            )
        else:
            verdicts[template.pk] = judge(template)
    return verdicts


def draft_verdict(draft: Any, *, fleet: Fleet | None = None) -> Verdict:
    """The verdict of a checked, unsaved template (``validate``): its own needs, or its children's."""
    fleet = fleet if fleet is not None else Fleet.load()
    if not draft.is_meta:
        return fleet.verdict(template_needs(draft))
    children = [node.child for node in draft.nodes]
    descendants = workable_descendants([child for child in children if child.is_meta])
    judged = []
    for node in draft.nodes:
        below = descendants[node.child.pk] if node.child.is_meta else [("", node.child)]
        judged += [(_joined(node.name, path), child, fleet.verdict(template_needs(child))) for path, child in below]
    return meta_verdict(judged)


def meta_verdict(children: list[tuple[str, JobTemplate, Verdict]]) -> Verdict:
    """A meta-template's verdict from its workable descendants' (path, template, verdict), in node
    order: runnable when all are, by their common runner (``mixed`` when they differ); otherwise the
    first that is not names the reason."""
    if not children:
        return Verdict(False, NONE, "it has no workable templates to run")
    runners = {verdict.runner for _, _, verdict in children}
    runner = runners.pop() if len(runners) == 1 else MIXED
    for path, child, verdict in children:
        if not verdict.runnable:
            return Verdict(False, runner, f"child {path!r} ({child}): {verdict.reason}")
    return Verdict(True, runner)


def workable_descendants(metas: list[JobTemplate]) -> dict[int, list[tuple[str, JobTemplate]]]:
    """meta pk → its workable descendants as (path, template), ``child`` or ``child:grandchild``, in
    node order. Nodes a listing prefetched cost nothing; the rest one query per level of nesting."""
    nodes: dict[int, list[tuple[str, JobTemplate]]] = {}
    pending = set()
    for meta in metas:
        if "prefetched_nodes" in meta.__dict__:
            nodes[meta.pk] = [(node.name, node.child) for node in meta.node_list()]
        else:
            pending.add(meta.pk)
    while True:
        pending |= {child.pk for entries in nodes.values() for _, child in entries if child.is_meta}
        pending -= set(nodes)
        if not pending:
            break
        rows = (
            MetaNode.objects.filter(template_id__in=pending)
            .select_related("child")
            .only("template_id", "name", "position", *(f"child__{name}" for name in VERDICT_FIELDS))
            .order_by("template_id", "position")
        )
        for pk in pending:
            nodes[pk] = []
        for row in rows:
            nodes[row.template_id].append((row.name, row.child))

    expanded: dict[int, list[tuple[str, JobTemplate]]] = {}

    def expand(pk: int) -> list[tuple[str, JobTemplate]]:
        if pk not in expanded:
            found = []
            for name, child in nodes[pk]:
                if child.is_meta:
                    found += [(_joined(name, path), grandchild) for path, grandchild in expand(child.pk)]
                else:
                    found.append((name, child))
            expanded[pk] = found
        return expanded[pk]

    return {meta.pk: expand(meta.pk) for meta in metas}


def _joined(name: str, path: str) -> str:
    return f"{name}{SEPARATOR}{path}" if path else name


def templates_by_runnability(queryset: QuerySet, *, runnable: bool, fleet: Fleet) -> QuerySet:
    """``queryset`` narrowed to the templates whose verdict is ``runnable`` (before pagination): one
    light query of the candidates, the verdicts, then a filter by pk."""
    candidates = JobTemplate.objects.filter(pk__in=queryset.values("pk")).only(*VERDICT_FIELDS)
    verdicts = runnability(candidates, fleet=fleet)
    return queryset.filter(pk__in=[pk for pk, verdict in verdicts.items() if verdict.runnable == runnable])
