"""What a job's admin page shows of its run (Django's test client): the progress bar (page and changelist),
the log's tail read from the end of its file, a meta-job's graph coloured by its children's statuses and
linking to them, and the live JSON endpoint its script polls (shape, staff only, constant query count)."""

from __future__ import annotations

import re
import tracemalloc

import pytest
from django.contrib.staticfiles import finders
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from jobtemplates.admin.job_console import STATUS_COLOURS
from jobtemplates.log_tail import TAIL_BYTES, log_tail
from jobtemplates.services.jobs import job_output_write
from tests.factories import JobFactory, UserFactory
from tests.jobtemplates.admin.conftest import JOBS, staff

pytestmark = pytest.mark.django_db


def page(response) -> str:
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def write_log(job, lines: list[str]):
    return job_output_write(job=job, name="log", output_type="BLOB<'log'>", data="\n".join(lines).encode())


class TestProgress:
    def test_a_bar_on_the_page_and_in_the_changelist(self, templates, root_browser):
        job = JobFactory(template=templates["noop"], running=True, progress=0.4)
        bar = '<progress max="100" value="40"></progress> <span data-live="percent">40%</span>'
        assert bar in page(root_browser.get(f"{JOBS}/{job.pk}/change/"))
        assert bar in page(root_browser.get(f"{JOBS}/?status__exact=running"))

    def test_a_running_jobs_page_polls_a_final_ones_does_not(self, templates, root_browser):
        running = JobFactory(template=templates["noop"], running=True)
        finished = JobFactory(template=templates["noop"], finished=True)
        html = page(root_browser.get(f"{JOBS}/{running.pk}/change/"))
        assert f'data-job-live="{JOBS}/{running.pk}/live/"' in html
        assert "/static/jobtemplates/admin/job_live.js" in html
        assert finders.find("jobtemplates/admin/job_live.js") is not None
        assert "data-job-live" not in page(root_browser.get(f"{JOBS}/{finished.pk}/change/"))


class TestLog:
    def test_the_page_shows_the_last_lines_and_links_the_whole_log(self, templates, root_browser):
        job = JobFactory(template=templates["noop"], finished=True)
        output = write_log(job, [f"line {n}" for n in range(1000)])
        html = page(root_browser.get(f"{JOBS}/{job.pk}/change/"))
        shown = re.search(r'<pre class="job-log"[^>]*>(.*?)</pre>', html, re.S).group(1).splitlines()
        assert shown == [f"line {n}" for n in range(800, 1000)]
        assert "Earlier lines are not shown." in html
        assert f'href="/v1/job-outputs/{output.pk}/download"' in html

    def test_a_short_log_is_shown_whole(self, templates, root_browser):
        job = JobFactory(template=templates["noop"], finished=True)
        write_log(job, ["starting", "<b>not markup</b>", "done"])
        html = page(root_browser.get(f"{JOBS}/{job.pk}/change/"))
        assert "starting\n&lt;b&gt;not markup&lt;/b&gt;\ndone</pre>" in html
        assert "Earlier lines are not shown." not in html

    def test_a_job_without_a_log_says_so(self, templates, root_browser):
        job = JobFactory(template=templates["noop"])
        assert "No log yet." in page(root_browser.get(f"{JOBS}/{job.pk}/change/"))

    def test_a_large_log_is_read_only_from_its_end(self, templates):
        job = JobFactory(template=templates["noop"], finished=True)
        lines = [f"{n:08d} " + "x" * 91 for n in range(80_000)]  # 100 bytes a line, 8 MB
        output = write_log(job, lines)
        assert output.size > 7_900_000
        tracemalloc.start()
        try:
            tail = log_tail(output.file)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert tail.text.splitlines() == lines[-200:]
        assert tail.truncated and tail.size == output.size
        assert peak < 1_000_000, peak  # about the window (64 KiB) and its lines, not the 8 MB

    def test_a_line_longer_than_the_window_is_shown_clipped(self, templates):
        job = JobFactory(template=templates["noop"], finished=True)
        output = write_log(job, ["first", "y" * (3 * TAIL_BYTES)])
        tail = log_tail(output.file)
        assert tail.text == "y" * TAIL_BYTES and tail.truncated


class TestGraph:
    def node(self, html: str, name: str) -> str:
        """The SVG of the node (with its link, if any)."""
        match = re.search(rf'(<a href="[^"]*">)?<g class="node" data-node="{name}"[^>]*>.*?</g>', html, re.S)
        assert match, name
        return match.group(0)

    def test_each_child_coloured_by_status_and_linking_to_it(self, templates, root_browser):
        parent = JobFactory(template=templates["meta"], running=True)
        train = JobFactory(template=templates["train"], finished=True, parent=parent, child_name="train")
        html = page(root_browser.get(f"{JOBS}/{parent.pk}/change/"))
        trained = self.node(html, "train")
        assert trained.startswith(f'<a href="{JOBS}/{train.pk}/change/">')
        assert 'data-status="finished"' in trained and f'fill="{STATUS_COLOURS["finished"][0]}"' in trained
        waiting = self.node(html, "predict")  # no child yet: its upstream child has only just finished
        assert not waiting.startswith("<a") and 'data-status="pending"' in waiting
        assert f'fill="{STATUS_COLOURS["pending"][0]}"' in waiting
        for status in ("pending", "created", "running", "finished", "errored", "cancelled"):
            assert f"</span> {status}</span>" in html, status  # the legend

    @pytest.mark.parametrize("status", ["created", "running", "errored", "cancelled"])
    def test_colours_per_status(self, templates, root_browser, status):
        parent = JobFactory(template=templates["meta"], running=True)
        traits = {} if status == "created" else {status: True}
        JobFactory(template=templates["predict"], parent=parent, child_name="predict", **traits)
        predict = self.node(page(root_browser.get(f"{JOBS}/{parent.pk}/change/")), "predict")
        fill, stroke = STATUS_COLOURS[status]
        assert f'fill="{fill}" stroke="{stroke}"' in predict and f'data-status="{status}"' in predict

    def test_a_workable_job_has_a_log_and_no_graph(self, templates, root_browser):
        job = JobFactory(template=templates["noop"], running=True)
        html = page(root_browser.get(f"{JOBS}/{job.pk}/change/"))
        assert 'class="job-graph"' not in html and 'class="job-log"' in html


class TestLive:
    def test_the_shape(self, templates, root_browser):
        parent = JobFactory(template=templates["meta"], running=True, progress=0.5)
        train = JobFactory(template=templates["train"], running=True, progress=0.25, parent=parent, child_name="train")
        response = root_browser.get(f"{JOBS}/{parent.pk}/live/")
        assert response.status_code == 200 and response["Content-Type"] == "application/json"
        assert "no-store" in response["Cache-Control"]
        assert response.json() == {
            "pk": parent.pk,
            "status": "running",
            "progress": 0.5,
            "error_reason": None,
            "final": False,
            "children": [
                {
                    "pk": train.pk,
                    "name": "train",
                    "status": "running",
                    "progress": 0.25,
                    "url": f"{JOBS}/{train.pk}/change/",
                }
            ],
            "log": None,
        }

    def test_a_workable_jobs_log_and_a_final_job(self, templates, root_browser):
        job = JobFactory(template=templates["noop"], errored=True, error_reason="ValueError: nope")
        output = write_log(job, ["a", "b"])
        body = root_browser.get(f"{JOBS}/{job.pk}/live/").json()
        assert (body["status"], body["final"], body["error_reason"], body["children"]) == (
            "errored",
            True,
            "ValueError: nope",
            [],
        )
        assert body["log"] == {
            "text": "a\nb",
            "truncated": False,
            "size": 3,
            "download": f"/v1/job-outputs/{output.pk}/download",
        }

    def test_staff_only(self, templates, user):
        job = JobFactory(template=templates["noop"], running=True)
        url = f"{JOBS}/{job.pk}/live/"
        anonymous = Client().get(url)
        assert anonymous.status_code == 302 and "/admin/login/" in anonymous["Location"]
        outsider = Client()
        outsider.force_login(user)
        assert outsider.get(url).status_code == 302
        no_view = Client()
        no_view.force_login(UserFactory(username="stan", is_staff=True))  # staff, but may not view jobs
        assert no_view.get(url).status_code == 403
        viewer = Client()
        viewer.force_login(staff("vera"))
        assert viewer.get(url).status_code == 200
        assert Client().get(f"{JOBS}/999999/live/").status_code == 302

    def test_a_missing_job_is_a_404(self, root_browser):
        assert root_browser.get(f"{JOBS}/999999/live/").status_code == 404

    def test_a_constant_number_of_queries_for_3_and_10_children(self, templates, root_browser):
        counts = {}
        for size in (3, 10):
            parent = JobFactory(template=templates["meta"], running=True)
            for n in range(size):
                child = JobFactory(template=templates["noop"], running=True, parent=parent, child_name=f"c{n}")
                write_log(child, [f"child {n}"])
            root_browser.get(f"{JOBS}/{parent.pk}/live/")  # the session and user are read alike every time
            with CaptureQueriesContext(connection) as queries:
                body = root_browser.get(f"{JOBS}/{parent.pk}/live/").json()
            assert len(body["children"]) == size
            counts[size] = len(queries)
        assert counts[3] == counts[10], counts
