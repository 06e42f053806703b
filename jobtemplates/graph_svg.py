"""A meta-template's graph as an SVG picture: layered left to right (jobtemplates.graph_layout), drawn here.

Each box is as wide as its text (estimated from the font's character widths, since the server has no font
to measure with), each edge label takes a box of its own in the layout, and edges are polylines that
neither cross nor pass through a box for the graphs meta-templates have (tests/jobtemplates/test_graph_svg.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from jobtemplates.graph_layout import EdgeSpec, GraphLayout, Rect, layered_layout

NODE_MIN_WIDTH, NODE_HEIGHT = 160, 64
LABEL_HEIGHT = 32
MARGIN, TITLE_HEIGHT = 24, 30
NODE_PADDING, LABEL_PADDING = 20, 10
NAME_SIZE, SUBTITLE_SIZE, NOTE_SIZE, LABEL_SIZE = 12, 12, 10, 11
# Past this many characters a text is clipped; the full text is always in the box's <title> (a tooltip).
MAX_TEXT = 80

# Character widths in em of DejaVu Sans, the widest of the usual sans-serif fonts (what Debian's browsers
# use for "sans-serif"), so estimated boxes are never narrower than the text they hold; bold is wider still.
_NARROW = set("fijlrtI.,:;'!|()[]{} ")
_WIDE = set("mwMW@%")
BOLD_FACTOR = 1.12


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


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    """An upper estimate of the width of ``text`` set in a sans-serif font of ``size`` px."""
    ems = 0.0
    for character in text:
        if character in _NARROW:
            ems += 0.36
        elif character in _WIDE:
            ems += 0.98
        elif character.isupper() or character in "→_~<>=+#&":
            ems += 0.78
        else:
            ems += 0.64
    return ems * size * (BOLD_FACTOR if bold else 1.0)


def box_size(box: Box) -> tuple[float, float]:
    """How large a box must be to hold its three lines of text."""
    widest = max(
        text_width(_clip(box.name), NAME_SIZE, bold=True),
        text_width(_clip(box.subtitle), SUBTITLE_SIZE),
        text_width(_clip(box.note), NOTE_SIZE),
    )
    return max(NODE_MIN_WIDTH, widest + NODE_PADDING), NODE_HEIGHT


def label_size(arrow: Arrow) -> tuple[float, float]:
    return text_width(_clip(arrow.label), LABEL_SIZE) + LABEL_PADDING, LABEL_HEIGHT


def graph_geometry(boxes: Sequence[Box], arrows: Sequence[Arrow]) -> GraphLayout:
    """Where every box, edge label and edge of the picture goes (before the margin and title)."""
    return layered_layout(
        {box.name: box_size(box) for box in boxes},
        [EdgeSpec(arrow.source, arrow.target, label_size(arrow)) for arrow in arrows],
    )


def graph_svg(
    boxes: Sequence[Box],
    arrows: Sequence[Arrow],
    *,
    title: str = "",
    decorations: Mapping[str, NodeDecoration] | None = None,
) -> str:
    """The picture; ``decorations`` (node name → colours, link, status) restyles nodes, each drawn as
    ``<g class="node" data-node="name" data-status="…">`` so that a page script can restyle it later."""
    layout = graph_geometry(boxes, arrows)
    left, top = MARGIN, MARGIN + TITLE_HEIGHT
    width = round(max(layout.width, text_width(title, 14, bold=True)) + 2 * MARGIN)
    height = round(layout.height + top + MARGIN)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>',
        f'<text x="{MARGIN}" y="{MARGIN + 4}" font-size="14" font-weight="bold">{escape(title)}</text>',
    ]
    for arrow, path, label in zip(arrows, layout.paths, layout.labels, strict=True):
        if not path or label is None:
            continue
        points = " ".join(f"{x + left:.1f},{y + top:.1f}" for x, y in path)
        parts.append(
            f'<g class="edge"><polyline points="{points}" fill="none" stroke="#555" stroke-width="1.5" '
            'stroke-linejoin="round" marker-end="url(#arrow)"/>'
            # The line runs through the middle of the label's box; the text sits just above it.
            f'<text x="{label.x + left + label.width / 2:.1f}" y="{label.y + top + label.height / 2 - 4:.1f}" '
            f'text-anchor="middle" font-size="{LABEL_SIZE}" fill="#333">{escape(_clip(arrow.label))}</text></g>'
        )
    for box in boxes:
        look = (decorations or {}).get(box.name, PLAIN)
        node = _box_svg(box, layout.nodes[box.name].moved(left, top), look)
        parts.append(f"<a href={quoteattr(look.href)}>{node}</a>" if look.href else node)
    parts.append("</svg>")
    return "\n".join(parts)


def _box_svg(box: Box, rect: Rect, look: NodeDecoration = PLAIN) -> str:
    x, y = rect.x, rect.y
    status = f" ({look.status})" if look.status else ""
    return (
        f'<g class="node" data-node={quoteattr(box.name)} data-status={quoteattr(look.status)}>'
        f"<title>{escape(box.name)}: {escape(box.subtitle)}{escape(status)}</title>"
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{rect.width:.1f}" height="{rect.height:.1f}" rx="8" '
        f"fill={quoteattr(look.fill)} stroke={quoteattr(look.stroke)}/>"
        f'<text x="{x + 10:.1f}" y="{y + 20:.1f}" font-weight="bold">{escape(_clip(box.name))}</text>'
        f'<text x="{x + 10:.1f}" y="{y + 38:.1f}" fill="#333">{escape(_clip(box.subtitle))}</text>'
        f'<text x="{x + 10:.1f}" y="{y + 54:.1f}" fill="#777" font-size="{NOTE_SIZE}">'
        f"{escape(_clip(box.note))}</text></g>"
    )


def _clip(text: str, limit: int = MAX_TEXT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def template_graph(template) -> tuple[list[Box], list[Arrow]]:
    """The boxes and arrows of a stored meta-template (nodes and dependencies prefetched or queried)."""
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
    return boxes, arrows


def render_graph_svg(template, *, decorations: Mapping[str, NodeDecoration] | None = None) -> str:
    """The picture of a stored meta-template (nodes and dependencies prefetched or queried);
    ``decorations`` as for :func:`graph_svg`."""
    boxes, arrows = template_graph(template)
    return graph_svg(boxes, arrows, title=f"{template.name} v{template.version}", decorations=decorations)
