"""The admin's template pages as a curator sees them, in a real (headless) browser 1400 px wide, signed in
through the login form as a superuser, with every shipped template imported (as ``make run`` does):
the changelist shows every column header on screen and lists real templates before the test ones; a
meta-template's graph keeps each text inside its box and every edge label clear of the boxes and of
the other labels (with the browser's real font, not the server's estimate of its widths).

Needs Chromium (``apt-get install chromium``); the tests fail, naming that, when it is missing.
"""

from __future__ import annotations

import pytest

from jobtemplates.admin_changelist import is_test_template
from jobtemplates.models import JobTemplate
from tests.browser.conftest import PASSWORD
from tools.chromium import INSTALL_HINT, admin_login, chromium_page, chromium_path

pytestmark = pytest.mark.browser

WIDTH = 1400


HEADERS = """(() => {
    const shown = document.querySelector('#changelist .results').getBoundingClientRect();
    const width = document.documentElement.clientWidth;
    return [...document.querySelectorAll('#result_list thead th')].map(th => {
        const box = th.getBoundingClientRect();
        return {text: th.textContent.trim(), left: box.left, right: box.right, width: box.width,
                limit: Math.min(width, shown.right)};
    });
})()"""

ROWS = """[...document.querySelectorAll('#result_list tbody tr')].map(row => ({
    name: row.querySelector('.field-name_column a > span:first-child').textContent.trim(),
    test: !!row.querySelector('.template-test'),
}))"""


def test_the_template_changelist_fits_1400_px_with_real_templates_first(live_server, shipped):
    assert chromium_path() is not None, INSTALL_HINT
    with chromium_page(width=WIDTH, height=1000) as page:
        admin_login(page, live_server.url, username=shipped["admin"].username, password=PASSWORD)
        page.open(f"{live_server.url}/admin/jobtemplates/jobtemplate/")
        headers = page.evaluate(HEADERS)
        rows = page.evaluate(ROWS)

    assert [header["text"] for header in headers][1:] == [
        "Name",
        "Version",
        "Kind",
        "Contract",
        "Domain",
        "Scope",
        "Created",
        "Active",
    ]
    for header in headers:
        assert header["width"] > 0 and header["left"] >= 0, header
        assert header["right"] <= header["limit"] + 0.5, f"{header['text']!r} is off screen: {header}"

    tests = set(JobTemplate.objects.filter(is_test_template()).values_list("name", flat=True))
    assert tests == {"fail", "noop", "sleep_predict", "sleep_train", "stubborn"}
    assert len(rows) == JobTemplate.objects.count()
    first_test = next(index for index, row in enumerate(rows) if row["test"])
    assert first_test == len(rows) - len(tests), rows  # every real template comes first
    assert {row["name"] for row in rows[first_test:]} == tests
    assert all(row["name"] not in tests and not row["test"] for row in rows[:first_test])


# Per picture: each box's texts against its rectangle, and every edge label against the boxes and the
# other labels, as the browser lays the text out.
GRAPH = """(() => {
    const svg = document.querySelector('svg marker#arrow').closest('svg');
    const box = element => { const r = element.getBoundingClientRect();
                             return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; };
    const nodes = [...svg.querySelectorAll('g.node')].map(g => ({
        name: g.dataset.node, rect: box(g.querySelector('rect')),
        texts: [...g.querySelectorAll('text')].filter(t => t.textContent)
                                              .map(t => ({text: t.textContent, box: box(t)})),
    }));
    const labels = [...svg.querySelectorAll('g.edge text')].map(t => ({text: t.textContent, box: box(t)}));
    return {nodes, labels};
})()"""


def _inside(inner: dict, outer: dict) -> bool:
    return (
        inner["left"] >= outer["left"]
        and inner["right"] <= outer["right"]
        and inner["top"] >= outer["top"]
        and inner["bottom"] <= outer["bottom"]
    )


def _overlap(a: dict, b: dict) -> bool:
    return a["left"] < b["right"] and b["left"] < a["right"] and a["top"] < b["bottom"] and b["top"] < a["bottom"]


@pytest.mark.parametrize("which", ["train_and_predict", "fan_out"])
def test_a_meta_template_graph_keeps_its_texts_in_their_boxes(live_server, shipped, which):
    assert chromium_path() is not None, INSTALL_HINT
    template = shipped[which]
    with chromium_page(width=WIDTH, height=1000) as page:
        admin_login(page, live_server.url, username=shipped["admin"].username, password=PASSWORD)
        page.open(f"{live_server.url}/admin/jobtemplates/metatemplate/{template.pk}/change/")
        graph = page.evaluate(GRAPH)

    assert len(graph["nodes"]) == template.nodes.count() and len(graph["labels"]) == template.dependencies.count()
    for node in graph["nodes"]:
        assert len(node["texts"]) >= 2, node
        for text in node["texts"]:
            assert _inside(text["box"], node["rect"]), (node["name"], text)
    for index, label in enumerate(graph["labels"]):
        for node in graph["nodes"]:
            assert not _overlap(label["box"], node["rect"]), (label, node["name"])
        for other in graph["labels"][index + 1 :]:
            assert not _overlap(label["box"], other["box"]), (label, other)


def test_the_workers_page_fits_1400_px(live_server, shipped):
    from runners.services import worker_report

    for name, queues in (("worker@gpu-host-with-a-long-name", ["celery", "gpu"]), ("notifier@host", ["notifications"])):
        worker_report(
            name=name, started=True, queues=queues, concurrency=8, cpu_count=16, gpus=[{"name": "RTX", "memory": 1}]
        )
    assert chromium_path() is not None, INSTALL_HINT
    with chromium_page(width=WIDTH, height=1000) as page:
        admin_login(page, live_server.url, username=shipped["admin"].username, password=PASSWORD)
        page.open(f"{live_server.url}/admin/runners/worker/")
        headers = page.evaluate(HEADERS)

    assert [header["text"] for header in headers][1:] == [
        "Name",
        "Alive",
        "Last seen",
        "Queues",
        "Pool",
        "CPUs",
        "GPUs",
        "Jobs now",
    ]
    for header in headers:
        assert header["right"] <= header["limit"] + 0.5, f"{header['text']!r} is off screen: {header}"
