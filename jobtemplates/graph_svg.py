"""A meta-template's graph as an SVG picture: layered left to right, no external renderer needed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

NODE_WIDTH, NODE_HEIGHT = 220, 64
LAYER_GAP, ROW_GAP, MARGIN = 120, 40, 24
# Boxes widen to fit their text (about 7 px per character at 12 px sans-serif), up to a limit past
# which text is clipped; the full text is always in the box's <title> (a tooltip).
CHAR_WIDTH, MAX_TEXT = 7, 80


@dataclass(frozen=True)
class Box:
    name: str
    subtitle: str
    note: str = ""


@dataclass(frozen=True)
class NodeDecoration:
    """How one node is drawn beyond its text (a meta-job's page: its child's status and a link to it);
    a layer over the layout, which does not depend on it."""

    fill: str = "#eef4fb"
    stroke: str = "#3c6e9f"
    href: str = ""
    status: str = ""


PLAIN = NodeDecoration()


@dataclass(frozen=True)
class Arrow:
    source: str
    target: str
    label: str


def layers(names: Sequence[str], arrows: Sequence[Arrow]) -> dict[str, int]:
    """Each node's layer: the length of the longest path reaching it (graphs here are acyclic)."""
    layer = dict.fromkeys(names, 0)
    for _ in range(len(names)):
        changed = False
        for arrow in arrows:
            if arrow.source in layer and arrow.target in layer and layer[arrow.target] <= layer[arrow.source]:
                layer[arrow.target] = layer[arrow.source] + 1
                changed = True
        if not changed:
            break
    return layer


def graph_svg(
    boxes: Sequence[Box],
    arrows: Sequence[Arrow],
    *,
    title: str = "",
    decorations: Mapping[str, NodeDecoration] | None = None,
) -> str:
    """The picture; ``decorations`` (node name → colours, link, status) restyles nodes, each drawn as
    ``<g data-node="name" data-status="…">`` so that a page script can restyle it later."""
    longest = max((len(_clip(text)) for box in boxes for text in (box.name, box.subtitle, box.note)), default=0)
    node_width = max(NODE_WIDTH, CHAR_WIDTH * longest + 20)
    layer_of = layers([box.name for box in boxes], arrows)
    rows: dict[int, int] = {}
    position: dict[str, tuple[int, int]] = {}
    for box in boxes:
        column = layer_of[box.name]
        row = rows.get(column, 0)
        rows[column] = row + 1
        position[box.name] = (
            MARGIN + column * (node_width + LAYER_GAP),
            MARGIN + 30 + row * (NODE_HEIGHT + ROW_GAP),
        )
    width = MARGIN * 2 + (max(layer_of.values(), default=0) + 1) * (node_width + LAYER_GAP) - LAYER_GAP
    height = MARGIN * 2 + 30 + max(rows.values(), default=1) * (NODE_HEIGHT + ROW_GAP) - ROW_GAP
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>',
        f'<text x="{MARGIN}" y="{MARGIN + 4}" font-size="14" font-weight="bold">{escape(title)}</text>',
    ]
    for arrow in arrows:
        if arrow.source not in position or arrow.target not in position:
            continue
        (x1, y1), (x2, y2) = position[arrow.source], position[arrow.target]
        start = (x1 + node_width, y1 + NODE_HEIGHT / 2)
        end = (x2, y2 + NODE_HEIGHT / 2)
        bend = max(40, (end[0] - start[0]) / 2)
        parts.append(
            f'<path d="M {start[0]} {start[1]} C {start[0] + bend} {start[1]}, {end[0] - bend} {end[1]}, '
            f'{end[0]} {end[1]}" fill="none" stroke="#555" stroke-width="1.5" marker-end="url(#arrow)"/>'
        )
        parts.append(
            f'<text x="{(start[0] + end[0]) / 2}" y="{(start[1] + end[1]) / 2 - 6}" text-anchor="middle" '
            f'fill="#333">{escape(arrow.label)}</text>'
        )
    for box in boxes:
        x, y = position[box.name]
        look = (decorations or {}).get(box.name, PLAIN)
        status = f" ({look.status})" if look.status else ""
        node = (
            f"<g data-node={quoteattr(box.name)} data-status={quoteattr(look.status)}>"
            f"<title>{escape(box.name)}: {escape(box.subtitle)}{escape(status)}</title>"
            f'<rect x="{x}" y="{y}" width="{node_width}" height="{NODE_HEIGHT}" rx="8" fill={quoteattr(look.fill)} '
            f"stroke={quoteattr(look.stroke)}/>"
            f'<text x="{x + 10}" y="{y + 20}" font-weight="bold">{escape(_clip(box.name))}</text>'
            f'<text x="{x + 10}" y="{y + 38}" fill="#333">{escape(_clip(box.subtitle))}</text>'
            f'<text x="{x + 10}" y="{y + 54}" fill="#777" font-size="10">{escape(_clip(box.note))}</text></g>'
        )
        parts.append(f"<a href={quoteattr(look.href)}>{node}</a>" if look.href else node)
    parts.append("</svg>")
    return "\n".join(parts)


def _clip(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def render_graph_svg(template, *, decorations: Mapping[str, NodeDecoration] | None = None) -> str:
    """The picture of a stored meta-template (nodes and dependencies prefetched or queried);
    ``decorations`` as for :func:`graph_svg`."""
    boxes = [
        Box(
            name=node.name,
            subtitle=f"{node.child.name} v{node.child.version}",
            note=node.child.contract.split("<")[0] if node.child.contract else node.child.kind,
        )
        for node in template.node_list()
    ]
    arrows = [
        Arrow(source=d.from_node, target=d.to_node, label=f"{d.from_output} → {d.to_input}")
        for d in template.dependency_list()
    ]
    return graph_svg(boxes, arrows, title=f"{template.name} v{template.version}", decorations=decorations)
