"""A running meta-job's admin page follows its children in a real (headless) browser, without a reload:
its script polls ``…/<pk>/live/``, recolours and links the graph's nodes as children appear and move on,
updates the progress bars and the status, and stops polling once the job is final.

Needs Chromium (``apt-get install chromium``); the test fails, naming that, when it is missing.
"""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.test import Client

from contracts.services.catalogue_seed import catalogue_seed
from jobtemplates.admin import job_console
from jobtemplates.admin.job_console import STATUS_COLOURS
from jobtemplates.models import Job
from jobtemplates.services.jobs import job_output_write
from tests.factories import JobFactory, UserFactory
from tests.jobtemplates.admin.conftest import JOBS, console_templates
from tools.chromium import INSTALL_HINT, chromium_page, chromium_path, not_blank

pytestmark = pytest.mark.browser


def node(name: str) -> str:
    return f"document.querySelector('.job-graph g[data-node=\"{name}\"]')"


@pytest.fixture
def stage(transactional_db, settings, tmp_path, monkeypatch):
    """A superuser's session, and a running train_predict meta-job whose train child runs."""
    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setattr(job_console, "POLL_MILLISECONDS", 200)  # the page asks five times a second
    catalogue_seed()
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    templates = console_templates(root)
    parent = JobFactory(template=templates["meta"], creator=root, running=True, progress=0.1)
    train = JobFactory(
        template=templates["train"], creator=root, running=True, progress=0.2, parent=parent, child_name="train"
    )
    client = Client()
    client.force_login(root)
    return {
        "session": client.cookies[settings.SESSION_COOKIE_NAME].value,
        "templates": templates,
        "parent": parent,
        "train": train,
    }


def test_a_running_meta_jobs_page_follows_its_children_without_a_reload(live_server, stage):
    assert chromium_path() is not None, INSTALL_HINT
    parent, train = stage["parent"], stage["train"]
    with chromium_page() as page:
        page.call("Network.setCookie", name=settings.SESSION_COOKIE_NAME, value=stage["session"], url=live_server.url)
        page.navigate(f"{live_server.url}{JOBS}/{parent.pk}/change/")
        page.wait_for(f"!!{node('predict')}", what="the meta-job's graph")
        assert page.evaluate(f"{node('train')}.dataset.status") == "running"
        assert page.evaluate(f"{node('predict')}.dataset.status") == "pending"
        assert page.evaluate(f"{node('predict')}.parentNode.localName") == "svg"  # no child: no link
        page.evaluate("window.startedAt = performance.now()")

        Job.objects.filter(pk=train.pk).update(status="finished", progress=1.0)
        predict = JobFactory(
            template=stage["templates"]["predict"], running=True, progress=0.3, parent=parent, child_name="predict"
        )
        page.wait_for(f"{node('predict')}.dataset.status === 'running'", what="the new child to show", timeout=10)
        assert page.evaluate(f"{node('predict')}.parentNode.getAttribute('href')") == f"{JOBS}/{predict.pk}/change/"
        page.wait_for(f"{node('train')}.dataset.status === 'finished'", what="train to finish", timeout=5)
        fill = page.evaluate(f"{node('train')}.querySelector('rect').getAttribute('fill')")
        assert fill == STATUS_COLOURS["finished"][0]
        assert page.evaluate(f"document.querySelector('.job-progress[data-job=\"{train.pk}\"] progress').value") == 100
        assert page.evaluate("performance.now() - window.startedAt") < 10_000
        assert page.evaluate("location.pathname") == f"{JOBS}/{parent.pk}/change/"
        shown, figures = not_blank(page.screenshot())
        assert shown, f"the job page looks blank ({figures})"

        Job.objects.filter(pk=predict.pk).update(status="finished", progress=1.0)
        Job.objects.filter(pk=parent.pk).update(status="finished", progress=1.0)
        page.wait_for(
            "document.querySelector('[data-live=\"status\"]').textContent === 'finished'",
            what="the meta-job to finish",
            timeout=10,
        )
        assert "reload" in page.evaluate("document.querySelector('[data-live=\"final-note\"]').textContent")
        polled = sum("/live/" in url for url in page.requested_urls())
        time.sleep(1.0)  # five polling intervals
        assert sum("/live/" in url for url in page.requested_urls()) == polled  # it stopped


def test_a_running_jobs_log_follows_without_a_reload(live_server, stage):
    assert chromium_path() is not None, INSTALL_HINT
    job = JobFactory(template=stage["templates"]["noop"], running=True, progress=0.1)
    job_output_write(
        job=job, name="log", output_type="BLOB<'log'>", data="\n".join(f"step {n}" for n in range(300)).encode()
    )
    with chromium_page() as page:
        page.call("Network.setCookie", name=settings.SESSION_COOKIE_NAME, value=stage["session"], url=live_server.url)
        page.navigate(f"{live_server.url}{JOBS}/{job.pk}/change/")
        log = "document.querySelector('[data-live=\"log\"]')"
        page.wait_for(f"!!{log}", what="the log")
        assert page.evaluate(f"{log}.textContent.split('\\n').at(-1)") == "step 299"
        assert page.evaluate(f"{log}.scrollTop + {log}.clientHeight >= {log}.scrollHeight - 4")  # at its end

        job_output_write(job=job, name="log", output_type="BLOB<'log'>", data=b"step 0\nstep 1\nfailing now")
        Job.objects.filter(pk=job.pk).update(status="errored", progress=0.5, error_reason="ValueError: nope")
        page.wait_for(f"{log}.textContent.endsWith('failing now')", what="the new log", timeout=10)
        page.wait_for("document.querySelector('[data-live=\"status\"]').textContent === 'errored'", what="the status")
        bar = f'document.querySelector(\'.job-progress[data-job="{job.pk}"] [data-live="percent"]\').textContent'
        assert page.evaluate(bar) == "50%"
