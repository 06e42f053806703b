"""Which project a job is in decides who besides its creator sees it: a project-scoped template's jobs are
in its project; a job of another template goes into the project its create-job body names (ours), which
takes X, W or A in that project's team."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jobtemplates.models import Job
from jobtemplates.services.templates import template_import
from tests.conftest import bearer_client
from tests.factories import ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db

NOOP = json.loads((Path(__file__).resolve().parents[2] / "templates" / "builtin" / "noop.json").read_text())


@pytest.fixture
def setting(seeded_catalogue, admin_user, monkeypatch):
    from config.celery import app

    monkeypatch.setattr(app, "send_task", lambda *args, **kwargs: None)  # no broker: jobs are only made here
    users = {level: UserFactory(username=f"u-{level}") for level in ("R", "X", "W")}
    outsider = UserFactory(username="outsider")
    lab = ProjectFactory(name="lab", members=dict((user, level) for level, user in users.items()))
    other = ProjectFactory(name="other", members={users["W"]: "W"})
    public = template_import(data=NOOP, creator=admin_user).template
    scoped = template_import(
        data={**NOOP, "name": "lab_noop", "scope": "project", "project": lab.pk}, creator=admin_user
    ).template
    return users, outsider, lab, other, public, scoped


def create(user, template, **body):
    return bearer_client(user).post(
        f"/v1/job-templates/{template.pk}/create-job", {"input_values": {}, **body}, format="json"
    )


def test_a_job_named_into_a_project_is_seen_by_its_team(setting):
    users, outsider, lab, _, public, _ = setting
    response = create(users["X"], public, project=lab.pk)
    assert response.status_code == 200, response.json()
    job = response.json()
    assert job["project"] == lab.pk
    for user in users.values():
        assert bearer_client(user).get(f"/v1/jobs/{job['pk']}").status_code == 200
    assert bearer_client(outsider).get(f"/v1/jobs/{job['pk']}").status_code == 404
    # Without a project, a job of a public template is its creator's alone.
    alone = create(users["X"], public).json()
    assert alone["project"] is None
    assert bearer_client(users["W"]).get(f"/v1/jobs/{alone['pk']}").status_code == 404


def test_naming_a_project_takes_execute_in_it(setting):
    users, outsider, lab, other, public, _ = setting
    for user, code in ((users["R"], "permission_denied"), (outsider, "does_not_exist"), (users["X"], "does_not_exist")):
        project = other if user is users["X"] else lab
        response = create(user, public, project=project.pk)
        assert response.status_code == 422
        assert [(e["path"], e["code"]) for e in response.json()["errors"]] == [("project", code)]
    assert create(users["R"], public, project="lab").status_code == 422
    assert not Job.objects.exists()


def test_a_project_scoped_templates_jobs_are_in_its_project(setting):
    users, _, lab, other, _, scoped = setting
    job = create(users["R"], scoped).json()
    assert job["project"] == lab.pk
    wrong = create(users["W"], scoped, project=other.pk)
    assert wrong.status_code == 422 and wrong.json()["errors"][0]["code"] == "wrong_project"
