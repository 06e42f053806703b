"""``POST /v1/jobs/{pk}/relaunch`` (ours, issue 16 point 2): a new job from a job's template and values,
changed where the body says, checked as create-job checks (every problem at once, nothing created),
recording where it came from; who may relaunch which job. Requests as a client sends them: JSON bodies,
a bearer token. The task a create-job sends is recorded instead (no worker here)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from config.celery import app as celery_app
from jobtemplates.models import Job, JobTemplate
from jobtemplates.services.templates import template_import

pytestmark = pytest.mark.django_db

BUILTIN = Path(__file__).resolve().parents[2] / "templates" / "builtin"
NOOP_VALUES = {"sleep": {"value": 0.5, "type": "float"}}


def builtin(name: str, creator, **changes) -> JobTemplate:
    body = {**json.loads((BUILTIN / f"{name}.json").read_text()), **changes}
    return template_import(data=body, creator=creator).template


@pytest.fixture
def sent(monkeypatch) -> list[tuple]:
    calls: list[tuple] = []
    monkeypatch.setattr(celery_app, "send_task", lambda name, *args, **kwargs: calls.append((name, kwargs)))
    return calls


@pytest.fixture
def noop(catalogue, admin_user) -> JobTemplate:
    return builtin("noop", admin_user)


def create(client, template: JobTemplate, **body):
    payload = {"input_values": {}, "parameter_values": NOOP_VALUES, "description": "first", "queue_anyway": True}
    response = client.post(f"/v1/job-templates/{template.pk}/create-job", {**payload, **body}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def relaunch(client, pk: int, body=None):
    return client.post(f"/v1/jobs/{pk}/relaunch", body if body is not None else {}, format="json")


def test_relaunch_repeats_the_job_and_records_its_origin(noop, client, sent):
    source = create(client, noop)
    response = relaunch(client, source["pk"], {"queue_anyway": True})
    assert response.status_code == 201, response.content
    made = response.json()
    assert made["pk"] != source["pk"] and made["relaunched_from"] == source["pk"]
    for key in ("template", "input_values", "parameter_values", "resolved_parameters", "description"):
        assert made[key] == source[key], key
    assert made["status"] == "created" and source["relaunched_from"] is None
    assert Job.objects.get(pk=made["pk"]).relaunched_from_id == source["pk"]
    assert client.get(f"/v1/jobs/{made['pk']}").json()["relaunched_from"] == source["pk"]
    assert Job.objects.count() == 2


def test_changed_values_replace_the_jobs_own(noop, client, sent):
    source = create(client, noop)
    changed = {"sleep": {"value": 0.0, "type": "float"}, "steps": {"value": 3, "type": "int"}}
    made = relaunch(client, source["pk"], {"parameter_values": changed, "description": "again", "queue_anyway": True})
    assert made.status_code == 201, made.content
    body = made.json()
    assert body["parameter_values"] == changed and body["description"] == "again"
    assert body["resolved_parameters"]["steps"] == {"value": 3, "type": "int"}


def test_invalid_changes_report_every_problem_and_create_nothing(noop, client, sent):
    source = create(client, noop)
    before = Job.objects.count()
    response = relaunch(
        client,
        source["pk"],
        {
            "parameter_values": {"sleep": {"value": "long", "type": "float"}, "nope": {"value": 1, "type": "int"}},
            "colour": "red",
            "queue_anyway": True,
        },
    )
    assert response.status_code in (400, 422), response.content
    paths = {problem["path"] for problem in response.json()["errors"]}
    assert {"parameter_values.sleep.value", "parameter_values.nope", "colour"} <= paths, paths
    assert Job.objects.count() == before


def test_who_may_relaunch(noop, client, other_client, admin_client, anon_client, sent):
    source = create(client, noop)
    assert relaunch(other_client, source["pk"]).status_code == 404  # bob cannot see alice's job
    assert relaunch(anon_client, source["pk"]).status_code == 401
    by_admin = relaunch(admin_client, source["pk"], {"queue_anyway": True})
    assert by_admin.status_code == 201, by_admin.content
    # The admin runs it as themselves; alice's notification settings are hers, not carried over.
    assert Job.objects.get(pk=by_admin.json()["pk"]).creator.is_staff


def test_a_meta_jobs_child_is_not_relaunched_alone(catalogue, admin_user, admin_client, sent):
    builtin("sleep_train", admin_user)
    builtin("sleep_predict", admin_user)
    meta = template_import(
        data={
            "name": "train_predict",
            "licence": "Apache 2.0",
            "domain": "ic",
            "specific": {
                "nodes": {"train": {"name": "sleep_train"}, "predict": {"name": "sleep_predict"}},
                "dependencies": [
                    {"from_node": "train", "from_output": "model", "to_node": "predict", "to_input": "model"}
                ],
            },
        },
        creator=admin_user,
    ).template
    from tests.factories import DatasetFactory

    dataset = DatasetFactory(creator=admin_user)
    given = {"value": dataset.pk, "type": "PK<Dataset<Domain<'Image Classification'>>>"}
    response = admin_client.post(
        f"/v1/job-templates/{meta.pk}/create-job",
        {"input_values": {"train:dataset": given, "predict:dataset": given}, "queue_anyway": True},
        format="json",
    )
    assert response.status_code == 200, response.content
    child = Job.objects.filter(parent_id=response.json()["pk"]).order_by("pk").first()
    refused = relaunch(admin_client, child.pk)
    assert refused.status_code == 409 and refused.json()["code"] == "not_relaunchable"
    relaunched_meta = relaunch(admin_client, response.json()["pk"], {"queue_anyway": True})
    assert relaunched_meta.status_code == 201, relaunched_meta.content
    # Its children are made as the original's were: those ready at the start (the train), the rest later.
    assert len(relaunched_meta.json()["children"]) == len(response.json()["children"]) == 1
