"""Can anything run a template's jobs now? Templates' needs judged against one snapshot of the fleet.

A workable template is judged by ``runners.capabilities.Fleet``; a meta-template is runnable when every
workable template below it is (children may be meta-templates themselves). What a meta-template's
verdict reads of its descendants (their paths and needs: its *shape*) never changes, since a template
version is immutable and its children are protected from deletion, so each process keeps the shapes it
has read (``SHAPE_CACHE_SIZE`` of them; dropped when a template is created or deleted, or a node saved or
deleted, under that pk). Any mix of templates costs the fleet's snapshot plus, for meta-templates whose
shape this process has not kept yet, one query per level of nesting: never a query per template
(docs/runners.md).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from django.db.models import QuerySet
from django.db.models.signals import post_delete, post_save

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
# How many meta-templates' shapes a process keeps (a few hundred bytes each); past it, they are all
# dropped and read again as asked.
SHAPE_CACHE_SIZE = 50_000


class Workable:
    """What a verdict reads of a workable descendant (its needs and its name for reasons)."""

    __slots__ = ("executor_class", "min_hardware_generation", "name", "queue", "required_packages", "version")
    is_meta = False

    def __init__(self, template: Any) -> None:
        self.name = template.name
        self.version = template.version
        self.executor_class = template.executor_class
        self.required_packages = template.required_packages
        self.queue = template.queue
        self.min_hardware_generation = template.min_hardware_generation

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


# meta pk → its workable descendants as (path, Workable), in node order (see the module's docstring).
Shape = tuple[tuple[str, Workable], ...]
_shapes: dict[int, Shape] = {}
_shapes_lock = threading.Lock()


def shapes_forget(pk: int | None = None) -> None:
    """Drop the kept shape of meta-template ``pk`` (None: all of them)."""
    with _shapes_lock:
        if pk is None:
            _shapes.clear()
        else:
            _shapes.pop(pk, None)


def kept_shapes() -> int:
    """How many shapes this process keeps (for tests)."""
    return len(_shapes)


def _keep_shapes(found: dict[int, Shape]) -> None:
    with _shapes_lock:
        if len(_shapes) + len(found) > SHAPE_CACHE_SIZE:
            _shapes.clear()
        _shapes.update(found)


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


def runnability(templates: Iterable[Any], *, fleet: Fleet | None = None) -> dict[int, Verdict]:
    """template pk → whether its jobs can run now, for any mix of workable and meta-templates."""
    templates = list(templates)
    fleet = fleet if fleet is not None else Fleet.load()
    memo = fleet.verdict_memo

    def judge(template: Any) -> Verdict:
        # A verdict reads only these of a template (Fleet.verdict: its reasons do not name it).
        key = (template.executor_class, template.required_packages, template.queue, template.min_hardware_generation)
        verdict = memo.get(key)
        if verdict is None:
            verdict = memo[key] = fleet.verdict(template_needs(template))
        return verdict

    verdicts = {}
    metas = []
    for template in templates:
        if template.is_meta:
            verdict = memo.get(("meta", template.pk))
            if verdict is None:
                metas.append(template)
            else:
                verdicts[template.pk] = verdict
        else:
            verdicts[template.pk] = judge(template)
    if metas:
        descendants = workable_descendants(metas)
        for template in metas:
            verdict = meta_verdict([(path, child, judge(child)) for path, child in descendants[template.pk]])
            verdicts[template.pk] = memo["meta", template.pk] = verdict
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


def meta_verdict(children: list[tuple[str, Any, Verdict]]) -> Verdict:
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


def workable_descendants(metas: list[Any]) -> dict[int, Shape]:
    """meta pk → its workable descendants as (path, ``Workable``), ``child`` or ``child:grandchild``, in
    node order. Kept shapes and nodes a listing prefetched cost nothing; the rest one query per level
    of nesting (and are kept)."""
    shapes: dict[int, Shape] = {}
    nodes: dict[int, list[tuple[str, Any]]] = {}
    pending = set()
    for meta in metas:
        kept = _shapes.get(meta.pk)
        if kept is not None:
            shapes[meta.pk] = kept
        elif "prefetched_nodes" in getattr(meta, "__dict__", ()):
            nodes[meta.pk] = [(node.name, node.child) for node in meta.node_list()]
        else:
            pending.add(meta.pk)
    while True:
        below = {child.pk for entries in nodes.values() for _, child in entries if child.is_meta}
        for pk in below - set(nodes) - set(shapes):
            kept = _shapes.get(pk)
            if kept is not None:
                shapes[pk] = kept
        pending |= below
        pending -= set(nodes) | set(shapes)
        if not pending:
            break
        rows = (
            MetaNode.objects.filter(template_id__in=pending)
            .order_by("template_id", "position")
            .values_list("template_id", "name", *(f"child__{name}" for name in VERDICT_FIELDS))
        )
        for pk in pending:
            nodes[pk] = []
        for template_id, name, *child in rows:
            nodes[template_id].append((name, _Child(child)))

    found: dict[int, Shape] = {}

    def expand(pk: int) -> Shape:
        if pk in shapes:
            return shapes[pk]
        flat: list[tuple[str, Workable]] = []
        for name, child in nodes[pk]:
            if child.is_meta:
                flat += [(_joined(name, path), grandchild) for path, grandchild in expand(child.pk)]
            else:
                flat.append((name, Workable(child)))
        shapes[pk] = found[pk] = tuple(flat)
        return shapes[pk]

    answer = {meta.pk: expand(meta.pk) for meta in metas}
    if found:
        _keep_shapes(found)
    return answer


class _Child:
    """A node's child as the nodes' query reads it (VERDICT_FIELDS)."""

    __slots__ = VERDICT_FIELDS
    id: int
    kind: str

    def __init__(self, values: list) -> None:
        for name, value in zip(VERDICT_FIELDS, values, strict=True):
            setattr(self, name, value)

    @property
    def pk(self) -> int:
        return self.id

    @property
    def is_meta(self) -> bool:
        return self.kind == "meta"


def _joined(name: str, path: str) -> str:
    return f"{name}{SEPARATOR}{path}" if path else name


def templates_by_runnability(queryset: QuerySet, *, runnable: bool, fleet: Fleet) -> QuerySet:
    """``queryset`` narrowed to the templates whose verdict is ``runnable`` (before pagination): one
    light query of the candidates, the verdicts, then a filter by pk."""
    candidates = JobTemplate.objects.filter(pk__in=queryset.values("pk")).only(*VERDICT_FIELDS)
    verdicts = runnability(candidates, fleet=fleet)
    return queryset.filter(pk__in=[pk for pk, verdict in verdicts.items() if verdict.runnable == runnable])


# --- keeping shapes honest -------------------------------------------------------------------------


def _template_changed(sender, instance, created: bool = True, raw: bool = False, **kwargs) -> None:
    # A new template under a pk (a database restored, a rolled-back test's pk given again) or a deleted
    # one: what was kept for that pk is no longer its shape.
    if created:
        shapes_forget(instance.pk)


def _node_changed(sender, instance, **kwargs) -> None:
    shapes_forget(instance.template_id)


post_save.connect(_template_changed, sender=JobTemplate, dispatch_uid="runnability-shapes-template-saved")
post_delete.connect(_template_changed, sender=JobTemplate, dispatch_uid="runnability-shapes-template-deleted")
post_save.connect(_node_changed, sender=MetaNode, dispatch_uid="runnability-shapes-node-saved")
post_delete.connect(_node_changed, sender=MetaNode, dispatch_uid="runnability-shapes-node-deleted")
