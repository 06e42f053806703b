"""Graph pictures are laid out without overlaps or crossings: for the shipped meta-template, meta-templates
made of UFDL's templates, a 10-node fan-out (and fan-in), a 5-node diamond and a few shapes that trip
simple layouts. Checked from the computed geometry (boxes, label boxes, edge polylines) with the small
plane geometry below, and the SVG is well-formed XML naming every box and edge.
"""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET

import pytest

from jobtemplates.graph_layout import GraphLayout, Rect
from jobtemplates.graph_svg import Arrow, Box, graph_geometry, graph_svg, render_graph_svg, template_graph
from jobtemplates.models import MetaTemplate
from tests.jobtemplates.conftest import REPO, load_template, meta_body

SVG = "{http://www.w3.org/2000/svg}"
Segment = tuple[tuple[float, float], tuple[float, float]]

# --- plane geometry ----------------------------------------------------------------------------------


def overlap(a: Rect, b: Rect) -> bool:
    """Whether two boxes share more than a border."""
    return a.x < b.right and b.x < a.right and a.y < b.bottom and b.y < a.bottom


def _orientation(p, q, r) -> int:
    value = (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])
    return 0 if abs(value) < 1e-9 else (1 if value > 0 else -1)


def _on_segment(p, q, r) -> bool:
    """Whether r, collinear with p–q, lies between them."""
    return (
        min(p[0], q[0]) - 1e-9 <= r[0] <= max(p[0], q[0]) + 1e-9
        and min(p[1], q[1]) - 1e-9 <= r[1] <= max(p[1], q[1]) + 1e-9
    )


def touch(s: Segment, t: Segment) -> bool:
    """Whether two segments have any point in common (crossing, touching or overlapping)."""
    (p1, q1), (p2, q2) = s, t
    o1, o2, o3, o4 = (
        _orientation(p1, q1, p2),
        _orientation(p1, q1, q2),
        _orientation(p2, q2, p1),
        _orientation(p2, q2, q1),
    )
    if o1 != o2 and o3 != o4 and 0 not in (o1, o2, o3, o4):
        return True
    return (
        (o1 == 0 and _on_segment(p1, q1, p2))
        or (o2 == 0 and _on_segment(p1, q1, q2))
        or (o3 == 0 and _on_segment(p2, q2, p1))
        or (o4 == 0 and _on_segment(p2, q2, q1))
    )


def enters(segment: Segment, rect: Rect) -> bool:
    """Whether a segment passes through a box's inside (running along its border does not count)."""
    (x1, y1), (x2, y2) = segment
    low, high = 0.0, 1.0
    for delta, start, lower, upper in ((x2 - x1, x1, rect.x, rect.right), (y2 - y1, y1, rect.y, rect.bottom)):
        if abs(delta) < 1e-12:
            if not lower < start < upper:
                return False
            continue
        t1, t2 = sorted(((lower - start) / delta, (upper - start) / delta))
        low, high = max(low, t1), min(high, t2)
        if high - low <= 1e-9:
            return False
    middle = (low + high) / 2
    x, y = x1 + middle * (x2 - x1), y1 + middle * (y2 - y1)
    return rect.x < x < rect.right and rect.y < y < rect.bottom


def segments(path) -> list[Segment]:
    return list(itertools.pairwise(path))


def problems_of(layout: GraphLayout, arrows: list[Arrow]) -> list[str]:
    """Everything wrong with a layout: overlapping boxes, crossing or touching edges, edges through boxes
    or through other edges' labels, edges that do not join their two boxes."""
    found = []
    boxes = {f"box {name}": rect for name, rect in layout.nodes.items()}
    boxes.update({f"label {index}": rect for index, rect in enumerate(layout.labels) if rect is not None})
    for (a, first), (b, second) in itertools.combinations(boxes.items(), 2):
        if overlap(first, second):
            found.append(f"{a} overlaps {b}")
    for name, rect in boxes.items():
        if rect.x < 0 or rect.y < 0 or rect.right > layout.width + 1e-6 or rect.bottom > layout.height + 1e-6:
            found.append(f"{name} is outside the picture")
    for index, (arrow, path) in enumerate(zip(arrows, layout.paths, strict=True)):
        if any(not (0 <= x <= layout.width + 1e-6 and 0 <= y <= layout.height + 1e-6) for x, y in path):
            found.append(f"edge {index} leaves the picture")
        source, target = layout.nodes[arrow.source], layout.nodes[arrow.target]
        (x0, y0), (x1, y1) = path[0], path[-1]
        if not (abs(x0 - source.right) < 1e-6 and source.y < y0 < source.bottom):
            found.append(f"edge {index} does not leave {arrow.source}'s right side")
        if not (abs(x1 - target.x) < 1e-6 and target.y < y1 < target.bottom):
            found.append(f"edge {index} does not enter {arrow.target}'s left side")
        for segment in segments(path):
            for name, rect in boxes.items():
                if name != f"label {index}" and enters(segment, rect):
                    found.append(f"edge {index} passes through {name}")
        for s, t in itertools.combinations(range(len(path) - 1), 2):
            if t > s + 1 and touch(segments(path)[s], segments(path)[t]):
                found.append(f"edge {index} crosses itself")
    for (i, first), (j, second) in itertools.combinations(enumerate(layout.paths), 2):
        if any(touch(s, t) for s in segments(first) for t in segments(second)):
            found.append(f"edges {i} ({arrows[i].label}) and {j} ({arrows[j].label}) cross or touch")
    return found


def test_the_geometry_checks_see_overlaps_and_crossings():
    """The checks above can fail: a crossing, a touching end, a box overlap and a pass through a box."""
    assert touch(((0, 0), (10, 10)), ((0, 10), (10, 0)))
    assert touch(((0, 0), (10, 0)), ((10, 0), (20, 5)))
    assert touch(((0, 0), (10, 0)), ((5, 0), (20, 0)))
    assert not touch(((0, 0), (10, 0)), ((0, 1), (10, 1)))
    assert not touch(((0, 0), (10, 10)), ((11, 11), (20, 0)))
    assert overlap(Rect(0, 0, 10, 10), Rect(5, 5, 10, 10))
    assert not overlap(Rect(0, 0, 10, 10), Rect(10, 0, 10, 10))
    assert enters(((0, 5), (20, 5)), Rect(5, 0, 10, 10))
    assert enters(((0, 0), (20, 20)), Rect(5, 5, 10, 10))
    assert not enters(((0, 0), (20, 0)), Rect(5, 0, 10, 10))  # along its top
    assert not enters(((0, 5), (5, 5)), Rect(5, 0, 10, 10))  # up to its side
    crossing = GraphLayout(
        width=60,
        height=30,
        nodes={"a": Rect(0, 0, 10, 10), "b": Rect(50, 0, 10, 10), "c": Rect(0, 20, 10, 10), "d": Rect(50, 20, 10, 10)},
        labels=[None, None],
        paths=[[(10, 5), (50, 25)], [(10, 25), (50, 5)]],
    )
    assert problems_of(crossing, [Arrow("a", "d", "x"), Arrow("c", "b", "y")]) == [
        "edges 0 (x) and 1 (y) cross or touch"
    ]


# --- shapes ------------------------------------------------------------------------------------------


def boxes_named(*names: str) -> list[Box]:
    return [Box(name=name, subtitle=f"template_of_{name} v1", note="Train") for name in names]


def fan_out(children: int) -> tuple[list[Box], list[Arrow]]:
    names = [f"predict_{n}" for n in range(children)]
    return boxes_named("train", *names), [Arrow("train", name, "model → model") for name in names]


def fan_in(parents: int) -> tuple[list[Box], list[Arrow]]:
    names = [f"train_{n}" for n in range(parents)]
    return boxes_named(*names, "compare"), [
        Arrow(name, "compare", f"model → model_{n}") for n, name in enumerate(names)
    ]


SHAPES = {
    "10-node fan-out": fan_out(9),
    "10-node fan-in": fan_in(9),
    "5-node diamond": (
        boxes_named("split", "left", "middle", "right", "join"),
        [
            Arrow("split", "left", "train → dataset"),
            Arrow("split", "middle", "validation → dataset"),
            Arrow("split", "right", "test → dataset"),
            Arrow("left", "join", "model → first"),
            Arrow("middle", "join", "model → second"),
            Arrow("right", "join", "model → third"),
        ],
    ),
    # A chain with an edge skipping three layers (it passes dummy vertices) and one skipping one.
    "5-node chain with long edges": (
        boxes_named("a", "b", "c", "d", "e"),
        [
            Arrow("a", "b", "out → in"),
            Arrow("b", "c", "out → in"),
            Arrow("c", "d", "out → in"),
            Arrow("d", "e", "out → in"),
            Arrow("a", "e", "a_very_long_output_name → a_very_long_input_name"),
            Arrow("b", "d", "side → extra"),
        ],
    ),
    # Two edges between the same two boxes, and boxes whose texts differ a lot in width.
    "parallel edges, uneven boxes": (
        [
            Box("train", "a_template_with_a_really_quite_long_name_indeed v12", "Train"),
            Box("p", "p v1", "Predict"),
            Box("evaluate", "evaluate v3", "Export"),
        ],
        [
            Arrow("train", "p", "model → model"),
            Arrow("train", "p", "metrics → baseline"),
            Arrow("p", "evaluate", "predictions → predictions"),
            Arrow("train", "evaluate", "model → model"),
        ],
    ),
    "unconnected parts": (
        boxes_named("alone", "x", "y", "also_alone"),
        [Arrow("x", "y", "out → in")],
    ),
}


@pytest.mark.parametrize("shape", list(SHAPES))
def test_shapes_have_no_overlaps_or_crossings(shape):
    boxes, arrows = SHAPES[shape]
    layout = graph_geometry(boxes, arrows)
    assert set(layout.nodes) == {box.name for box in boxes}
    assert problems_of(layout, arrows) == []
    assert_svg_names_everything(graph_svg(boxes, arrows, title=shape), boxes, arrows)


def test_the_fan_out_is_one_column_of_children_beside_its_source():
    boxes, arrows = fan_out(9)
    layout = graph_geometry(boxes, arrows)
    columns = {layout.nodes[f"predict_{n}"].x for n in range(9)}
    assert len(columns) == 1 and columns.pop() > layout.nodes["train"].right


def test_the_layout_is_the_same_every_time():
    boxes, arrows = SHAPES["5-node chain with long edges"]
    assert graph_svg(boxes, arrows) == graph_svg(boxes, arrows)


def assert_svg_names_everything(svg: str, boxes: list[Box], arrows: list[Arrow]) -> None:
    root = ET.fromstring(svg)  # well-formed, or this raises
    texts = ["".join(element.itertext()) for element in root.iter(f"{SVG}text")]
    for box in boxes:
        assert box.name in texts and box.subtitle in texts, box
    for arrow in arrows:
        assert arrow.label in texts, arrow
    assert len(list(root.iter(f"{SVG}polyline"))) == len(arrows)


# --- stored meta-templates ---------------------------------------------------------------------------

UFDL_MMCLASSIFICATION = {
    "resnet18": "image-classification__0014_mmclassification_0.25.0_resnet18_train.json",
    "resnet34": "image-classification__0015_mmclassification_0.25.0_resnet34_train.json",
    "resnet50": "image-classification__0016_mmclassification_0.25.0_resnet50_train.json",
}
UFDL_MMCLASSIFICATION_PREDICT = "image-classification__0014_mmclassification_0.25.0_predict.json"


def edge(source: str, target: str, output: str = "model", input_: str = "model") -> dict:
    return {"from_node": source, "from_output": output, "to_node": target, "to_input": input_}


@pytest.fixture
def stored_meta_templates(db, import_body, ufdl_bodies, train_predict) -> dict[str, MetaTemplate]:
    """The shipped meta-template (templates/builtin) and meta-templates made of UFDL's templates (UFDL ships
    none of its own): train → predict, one model predicting on three datasets, three models compared."""
    builtin = REPO / "templates" / "builtin"
    for name in ("sklearn_image_class_train", "sklearn_image_class_predict"):
        import_body(load_template(builtin / f"{name}.json"))
    made = {"train_and_predict (shipped)": import_body(load_template(builtin / "train_and_predict.json"))}
    made["dogs train → predict (UFDL)"] = import_body(meta_body())
    trains = {name: import_body(ufdl_bodies[file]) for name, file in UFDL_MMCLASSIFICATION.items()}
    predict = import_body(ufdl_bodies[UFDL_MMCLASSIFICATION_PREDICT])

    def node(template) -> dict:
        return {"name": template.name, "version": template.version}

    made["one model, three predictions (UFDL)"] = import_body(
        meta_body(
            "resnet18_on_three_datasets",
            nodes={"train": node(trains["resnet18"]), **{f"predict_{n}": node(predict) for n in range(3)}},
            dependencies=[edge("train", f"predict_{n}") for n in range(3)],
        )
    )
    made["three models compared (UFDL)"] = import_body(
        meta_body(
            "three_resnets",
            nodes={
                **{f"train_{name}": node(template) for name, template in trains.items()},
                **{f"predict_{name}": node(predict) for name in trains},
            },
            dependencies=[edge(f"train_{name}", f"predict_{name}") for name in trains],
        )
    )
    return {label: MetaTemplate.objects.get(pk=template.pk) for label, template in made.items()}


def test_stored_meta_templates_have_no_overlaps_or_crossings(stored_meta_templates):
    assert len(stored_meta_templates) == 4
    for label, template in stored_meta_templates.items():
        boxes, arrows = template_graph(template)
        assert boxes and arrows, label
        layout = graph_geometry(boxes, arrows)
        assert problems_of(layout, arrows) == [], label
        assert_svg_names_everything(render_graph_svg(template), boxes, arrows)
