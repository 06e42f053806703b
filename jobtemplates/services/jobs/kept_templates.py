"""What create-job and meta-job advancing read of a template version, kept per process.

A template version never changes once imported (a changed template is imported as its next version),
so its parameters and a meta-template's graph (nodes, their child templates, edges) are read once per
process, not once per request or per finished child. Entries are keyed by the template's pk *and* its
creation time: a pk given again to another template (a database restored, SQLite handing out a
rolled-back pk again) is another key, so nothing kept can be mistaken for the new template's. Soft
delete and reinstate change neither (create-job checks ``deletion_time`` on the row it reads itself).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

from jobtemplates.models import JobTemplate, MetaDependency, Parameter

# Enough for every template a process meets in practice; past it, the oldest half is forgotten.
KEPT_TEMPLATES = 1024

_lock = threading.Lock()
_parameters: dict[tuple[int, datetime], tuple[Parameter, ...]] = {}
_graphs: dict[tuple[int, datetime], MetaGraph] = {}


@dataclass(frozen=True)
class MetaNodeShape:
    """One node of a meta-template: its name, its child template, the edges into it."""

    name: str
    child: JobTemplate
    feeding: tuple[MetaDependency, ...]

    @property
    def upstream(self) -> frozenset[str]:
        return frozenset(edge.from_node for edge in self.feeding)


@dataclass(frozen=True)
class MetaGraph:
    nodes: tuple[MetaNodeShape, ...]  # in position order


def _key(template: JobTemplate) -> tuple[int, datetime]:
    return (template.pk, template.creation_time)


def _keep(store: dict, key, value) -> None:
    with _lock:
        if len(store) >= KEPT_TEMPLATES:
            for old in list(store)[: KEPT_TEMPLATES // 2]:
                store.pop(old, None)
        store[key] = value


def template_parameters(template: JobTemplate) -> tuple[Parameter, ...]:
    """The template's parameters in order (prefetched ones when a listing loaded them; else kept)."""
    if "prefetched_parameters" in template.__dict__:
        return tuple(template.__dict__["prefetched_parameters"])
    key = _key(template)
    kept = _parameters.get(key)
    if kept is None:
        kept = tuple(Parameter.objects.filter(template_id=template.pk).order_by("position"))
        _keep(_parameters, key, kept)
    return kept


def meta_graph(template: JobTemplate) -> MetaGraph:
    """A meta-template's nodes (with their child templates) and edges: two queries once per process."""
    key = _key(template)
    kept = _graphs.get(key)
    if kept is None:
        edges = list(MetaDependency.objects.filter(template_id=template.pk).order_by("position"))
        nodes = template.nodes.select_related("child").order_by("position")
        kept = MetaGraph(
            nodes=tuple(
                MetaNodeShape(
                    name=node.name, child=node.child, feeding=tuple(e for e in edges if e.to_node == node.name)
                )
                for node in nodes
            )
        )
        _keep(_graphs, key, kept)
    return kept


def kept_templates_forget() -> None:
    """Forget everything kept (tests)."""
    with _lock:
        _parameters.clear()
        _graphs.clear()
