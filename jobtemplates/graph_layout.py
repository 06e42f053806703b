"""Where a graph's boxes and edges go in its picture: a layered (Sugiyama) layout, left to right (pure, no Django).

grandalf (pure Python, no Graphviz binary) ranks the boxes into layers, orders each layer for the fewest
crossings and places them by their real sizes (Brandes–Köpf). It draws top to bottom; we give it each box
turned on its side and turn its answer back, so layers run left to right. Every edge becomes two through
a vertex of its own for its label (so labels take room like boxes and never overlap one), and an edge
spanning several layers passes through the layout's dummy vertices. Each edge is then a polyline: from
its own port on the source's right side, straight across the rest of the source's layer band, diagonally
through the gap between two layers, straight across each layer it passes (through its label), and into its
own port on the target's left side. Ports on a side are ordered as their edges' next vertices are, so
edges cross only where the layer orders make them cross, and grandalf's ordering avoids that.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from grandalf.graphs import Edge as LayoutEdge
from grandalf.graphs import Vertex, graph_core
from grandalf.layouts import SugiyamaLayout

Point = tuple[float, float]

# Rounds of grandalf's crossing reduction (each one sweep down and one up), stopped early at no crossings.
ORDERING_ROUNDS = 8


@dataclass(frozen=True)
class Rect:
    """An axis-aligned box: ``x``, ``y`` its top-left corner."""

    x: float
    y: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.x + self.width

    @property
    def bottom(self) -> float:
        return self.y + self.height

    def moved(self, dx: float, dy: float) -> Rect:
        return Rect(self.x + dx, self.y + dy, self.width, self.height)


@dataclass(frozen=True)
class EdgeSpec:
    """An edge to lay out, with the size (width, height) its label needs."""

    source: str
    target: str
    label_size: tuple[float, float]


@dataclass
class GraphLayout:
    """Boxes by name; per edge (in the order given) its label's box and its path, source to target.

    An edge naming an unknown box, or a box feeding itself, has no label box and an empty path.
    """

    width: float = 0.0
    height: float = 0.0
    nodes: dict[str, Rect] = field(default_factory=dict)
    labels: list[Rect | None] = field(default_factory=list)
    paths: list[list[Point]] = field(default_factory=list)


@dataclass(frozen=True)
class Spacing:
    """Gaps in the picture: between layers (left to right), between boxes of a layer, between unconnected parts."""

    layer_gap: float = 48.0
    row_gap: float = 20.0
    component_gap: float = 32.0


class _View:
    """What grandalf reads (``w``, ``h``) and writes (``xy``, the centre) of a vertex, in its top-down frame."""

    __slots__ = ("w", "h", "xy")

    def __init__(self, width: float, height: float) -> None:
        # Turned on its side: grandalf's w runs along a layer (our vertical), its h across (our horizontal).
        self.w = height
        self.h = width
        self.xy: Point = (0.0, 0.0)


def layered_layout(
    sizes: Mapping[str, tuple[float, float]], edges: Sequence[EdgeSpec], *, spacing: Spacing = Spacing()
) -> GraphLayout:
    """Place boxes of the given (width, height) and route the edges between them; coordinates start at 0, 0.

    Unconnected parts of the graph are laid out one below the other, in the order their first boxes come.
    """
    vertices = {name: _vertex(("node", name), width, height) for name, (width, height) in sizes.items()}
    drawn: dict[int, tuple[Vertex, LayoutEdge, LayoutEdge]] = {}
    for index, edge in enumerate(edges):
        if edge.source == edge.target or edge.source not in vertices or edge.target not in vertices:
            continue
        label = _vertex(("label", index), *edge.label_size)
        drawn[index] = (
            label,
            LayoutEdge(vertices[edge.source], label),
            LayoutEdge(label, vertices[edge.target]),
        )

    result = GraphLayout(labels=[None] * len(edges), paths=[[] for _ in edges])
    top = 0.0
    for names, indexes in _components(list(sizes), edges, drawn):
        part = _layout_component(
            [vertices[name] for name in names] + [drawn[index][0] for index in indexes],
            [half for index in indexes for half in drawn[index][1:]],
            spacing,
        )
        nodes, labels, paths = _routed(part, names, indexes, vertices, drawn)
        # A long edge's dummy vertices may lie beyond every box: its path counts for the part's extent too.
        points = [point for path in paths.values() for point in path]
        rects = [*nodes.values(), *labels.values(), *(Rect(x, y, 0.0, 0.0) for x, y in points)]
        dx, dy = -min(rect.x for rect in rects), top - min(rect.y for rect in rects)
        for name, rect in nodes.items():
            result.nodes[name] = rect.moved(dx, dy)
        for index, rect in labels.items():
            result.labels[index] = rect.moved(dx, dy)
            result.paths[index] = [(x + dx, y + dy) for x, y in paths[index]]
        top = max(rect.bottom for rect in rects) + dy + spacing.component_gap
    every = [*result.nodes.values(), *(rect for rect in result.labels if rect)]
    every += [Rect(x, y, 0.0, 0.0) for path in result.paths for x, y in path]
    result.width = max((rect.right for rect in every), default=0.0)
    result.height = max((rect.bottom for rect in every), default=0.0)
    return result


def _vertex(data: tuple[str, object], width: float, height: float) -> Vertex:
    vertex = Vertex(data)
    vertex.view = _View(width, height)
    return vertex


def _components(
    names: list[str], edges: Sequence[EdgeSpec], drawn: Mapping[int, object]
) -> list[tuple[list[str], list[int]]]:
    """The connected parts: their box names and edge indexes, each in the order given (grandalf's own
    split goes through a set, whose order would change the picture from one process to the next)."""
    parent = {name: name for name in names}

    def root(name: str) -> str:
        while parent[name] != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    for index in drawn:
        parent[root(edges[index].source)] = root(edges[index].target)
    parts: dict[str, tuple[list[str], list[int]]] = {}
    for name in names:
        parts.setdefault(root(name), ([], []))[0].append(name)
    for index in sorted(drawn):
        parts[root(edges[index].source)][1].append(index)
    return list(parts.values())


def _layout_component(vertices: list[Vertex], halves: list[LayoutEdge], spacing: Spacing) -> SugiyamaLayout:
    core = graph_core(vertices, halves)
    layout = SugiyamaLayout(core)
    layout.xspace = spacing.row_gap
    layout.yspace = spacing.layer_gap
    layout.init_all()
    for _ in range(ORDERING_ROUNDS):
        # A sweep down orders each layer against the one above it, already fixed: the sum of what it
        # reports is the number of crossings left.
        if sum(crossings for _, crossings in layout.ordering_step(oneway=True)) == 0:
            break
        layout.dirv = +1
        layer = layout.layers[-1]
        while layer:
            layer.order()
            layer = layer.nextlayer()
    layout.setxy()
    return layout


def _routed(
    layout: SugiyamaLayout,
    names: list[str],
    indexes: list[int],
    vertices: Mapping[str, Vertex],
    drawn: Mapping[int, tuple[Vertex, LayoutEdge, LayoutEdge]],
) -> tuple[dict[str, Rect], dict[int, Rect], dict[int, list[Point]]]:
    """Boxes, label boxes and edge paths of one laid-out part, turned back to left to right."""
    bands = []  # per layer: its left and right side (in our frame), wide enough for its widest vertex
    for layer in layout.layers:
        centre = layer[0].view.xy[1]
        half = max(vertex.view.h / 2 for vertex in layer)
        bands.append((centre - half, centre + half))

    def rank(vertex: Vertex) -> int:
        return layout.grx[vertex].rank

    def box(vertex: Vertex) -> Rect:
        across, along = vertex.view.xy
        return Rect(along - vertex.view.h / 2, across - vertex.view.w / 2, vertex.view.h, vertex.view.w)

    def toward(vertex: Vertex, other: Vertex) -> int:
        """The side of ``vertex``'s band that faces ``other``: 1 right (a later layer), 0 left."""
        return 1 if rank(other) > rank(vertex) else 0

    chains = {index: _chain(layout, drawn[index][1]) + _chain(layout, drawn[index][2])[1:] for index in indexes}
    ports = _ports(chains, box, toward)
    paths: dict[int, list[Point]] = {}
    for index, chain in chains.items():
        source, target = chain[0], chain[-1]
        leaving, entering = toward(source, chain[1]), toward(target, chain[-2])
        source_box, target_box = box(source), box(target)
        path: list[Point] = [
            (source_box.right if leaving else source_box.x, ports[(index, "out")]),
            (bands[rank(source)][leaving], ports[(index, "out")]),
        ]
        for step in range(1, len(chain) - 1):
            before, passed, after = chain[step - 1], chain[step], chain[step + 1]
            middle = passed.view.xy[0]
            path.append((bands[rank(passed)][toward(passed, before)], middle))
            path.append((bands[rank(passed)][toward(passed, after)], middle))
        path.append((bands[rank(target)][entering], ports[(index, "in")]))
        path.append((target_box.right if entering else target_box.x, ports[(index, "in")]))
        paths[index] = _without_repeats(path)
    nodes = {name: box(vertices[name]) for name in names}
    labels = {index: box(drawn[index][0]) for index in indexes}
    return nodes, labels, paths


def _chain(layout: SugiyamaLayout, edge: LayoutEdge) -> list[Vertex]:
    """An edge's vertices, source to target, with the dummy vertices of the layers it passes."""
    source, target = edge.v
    controls = layout.ctrls.get(edge)
    if not controls:
        return [source, target]
    first, last = layout.grx[source].rank, layout.grx[target].rank
    step = 1 if last > first else -1
    return [controls[rank] for rank in range(first, last + step, step)]


def _ports(
    chains: Mapping[int, list[Vertex]], box: Callable[[Vertex], Rect], toward: Callable[[Vertex, Vertex], int]
) -> dict[tuple[int, str], float]:
    """Each edge's height where it leaves its source ("out") and enters its target ("in"): the edges at a
    side of a box spread evenly along it, in the order of the vertices they go to next (so they do not
    cross each other)."""
    sides: dict[tuple[int, int], list[tuple[float, int, str]]] = {}
    owners: dict[int, Vertex] = {}
    for index, chain in chains.items():
        for end, then, role in ((chain[0], chain[1], "out"), (chain[-1], chain[-2], "in")):
            owners[id(end)] = end
            sides.setdefault((id(end), toward(end, then)), []).append((then.view.xy[0], index, role))
    ports: dict[tuple[int, str], float] = {}
    for (owner, _), ends in sides.items():
        rect = box(owners[owner])
        ends.sort()
        for position, (_, index, role) in enumerate(ends, start=1):
            ports[(index, role)] = rect.y + rect.height * position / (len(ends) + 1)
    return ports


def _without_repeats(path: list[Point]) -> list[Point]:
    kept = [path[0]]
    for point in path[1:]:
        if point != kept[-1]:
            kept.append(point)
    return kept
