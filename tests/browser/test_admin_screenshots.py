"""tools/admin_screenshots.py against a live server: it signs in, finds each page by the admin's own links
(the meta-job of a meta-template, a child job on the meta-job's page) and saves a PNG of each that shows
something; a wrong password stops it before any screenshot.

Needs Chromium (``apt-get install chromium``); the tests fail, naming that, when it is missing.
"""

from __future__ import annotations

import pytest
from PIL import Image

from contracts.models import Domain, Licence
from jobtemplates.models import Job
from tests.browser.conftest import PASSWORD
from tests.factories import DatasetFactory, JobFactory
from tools import admin_screenshots
from tools.chromium import INSTALL_HINT, chromium_path, not_blank

pytestmark = pytest.mark.browser


@pytest.fixture
def meta_job(shipped):
    """A finished train_and_predict job with its two children."""
    meta = shipped["train_and_predict"]
    parent = JobFactory(template=meta, status="finished", creator=shipped["admin"])
    for node in meta.nodes.select_related("child"):
        JobFactory(template=node.child, parent=parent, child_name=node.name, status="finished", creator=parent.creator)
    return parent


def test_every_page_is_saved_and_shows_something(live_server, shipped, meta_job, tmp_path, capsys):
    assert chromium_path() is not None, INSTALL_HINT
    code = admin_screenshots.main(
        ["--url", live_server.url, "--out", str(tmp_path), "--username", shipped["admin"].username]
        + ["--password", PASSWORD]
    )
    printed = capsys.readouterr().out
    assert code == 0, printed
    names = [f"{number:02d}-{shot.name}.png" for number, shot in enumerate(admin_screenshots.SHOTS, start=1)]
    assert sorted(path.name for path in tmp_path.iterdir()) == names
    for name in names:
        image = Image.open(tmp_path / name).convert("RGB")
        assert 1300 <= image.width <= 1400 and image.height >= 300, name  # the page, less a scrollbar
        shown, figures = not_blank(image)
        assert shown, f"{name} looks blank ({figures})"
    assert f"/admin/jobtemplates/metatemplate/{shipped['train_and_predict'].pk}/change/" in printed
    assert f"/admin/jobtemplates/job/{meta_job.pk}/change/" in printed
    assert any(f"/admin/jobtemplates/job/{child.pk}/change/" in printed for child in meta_job.children.all())


def test_a_wrong_password_stops_before_any_screenshot(live_server, shipped, tmp_path, capsys):
    assert chromium_path() is not None, INSTALL_HINT
    arguments = ["--url", live_server.url, "--out", str(tmp_path), "--username", "root", "--password", "wrong"]
    assert admin_screenshots.main(arguments) == 1
    assert "login as 'root' failed" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_the_demo_job_is_made_through_the_api(live_server, shipped, capsys):
    """--demo-job: train_and_predict on the demo datasets, by their pk and name (no worker here: it stays
    created, and the tool goes on after its timeout)."""
    ic, licence = Domain.objects.get(name="ic"), Licence.objects.first()
    digits = DatasetFactory(name="digits", domain=ic, licence=licence, is_public=True)
    DatasetFactory(name="digits-test", domain=ic, licence=licence, is_public=True)
    pk = admin_screenshots.demo_job(live_server.url, username="root", password=PASSWORD, timeout=0)
    job = Job.objects.get(pk=pk)
    assert job.template == shipped["train_and_predict"] and job.creator == shipped["admin"]
    assert job.input_values["train:dataset"]["value"] == digits.pk
    assert job.input_values["predict:dataset"]["value"] == "digits-test v1"
    assert f"demo job {pk}: created" in capsys.readouterr().out
