"""create-job's SQL: the checks read the template, its parameters and one query per table of the rows the
body names, however many values name them; the verdict reads the kept fleet snapshot (which a worker
deleted here drops); one transaction inserts the job and its references (the task is marked sent in the
insert and sent after commit); the answer is built from the inserted row."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from config.celery import app as celery_app
from jobtemplates.models import Job, JobReference
from jobtemplates.services.jobs.enqueueing import RUN_JOB_TASK
from jobtemplates.services.templates import template_import
from runners.models import Worker
from tests.factories import DatasetFactory, DomainFactory, LicenceFactory

pytestmark = pytest.mark.django_db

BUILTIN = Path(__file__).resolve().parents[2] / "templates" / "builtin"
IC_DATASET = "PK<Dataset<Domain<'Image Classification'>>>"
# Steady state (the user, the fleet and the template's parameters kept): the template, the datasets, and
# one statement inserting the job with its references (PostgreSQL; SQLite: a transaction of the job's
# insert and its references').
KEPT_QUERIES = 3 if connection.vendor == "postgresql" else 6
# Cold (AUTH_USER_CACHE_SECONDS and FLEET_SNAPSHOT_SECONDS 0, the template new to this process): also its
# parameters, the user and the fleet (live nodes, workers, hardware, and with no live node the count of nodes).
COLD_QUERIES = KEPT_QUERIES + 1 + 1 + 4


@pytest.fixture
def sent(monkeypatch):
    calls = []
    monkeypatch.setattr(celery_app, "send_task", lambda name, *args, **kwargs: calls.append((name, kwargs)))
    return calls


@pytest.fixture
def wide(catalogue, admin_user):
    """``wide(n)``: sleep_train with ``n`` dataset parameters, ``n`` int parameters and an array of datasets."""

    def make(n: int):
        body = json.loads((BUILTIN / "sleep_train.json").read_text())
        body["name"] = f"wide_{n}"
        parameters = body["specific"]["parameters"]
        for index in range(n):
            parameters[f"dataset_{index}"] = {"types": [IC_DATASET], "help": "a dataset"}
            parameters[f"count_{index}"] = {"types": ["int"], "default": index, "help": "a number"}
        parameters["more"] = {"types": [f"Array<{IC_DATASET}>"], "default": [], "help": "datasets"}
        return template_import(data=body, creator=admin_user).template

    return make


@pytest.fixture
def datasets(user):
    ic, licence = DomainFactory(name="ic"), LicenceFactory(name="L")
    return [DatasetFactory(domain=ic, licence=licence, creator=user, is_public=index % 2 == 0) for index in range(8)]


def wide_body(n: int, datasets) -> dict:
    values = {f"dataset_{index}": {"value": datasets[index].pk, "type": IC_DATASET} for index in range(n)}
    values |= {f"count_{index}": {"value": index * 10, "type": "int"} for index in range(n)}
    values["more"] = {"value": [d.pk for d in datasets[:n]], "type": f"Array<{IC_DATASET}>"}
    values["sleep"] = {"value": 0.0, "type": "float"}
    dataset = {"dataset": {"value": datasets[-1].pk, "type": IC_DATASET}}
    return {"input_values": dataset, "parameter_values": values, "description": f"{n} of each"}


def create_job_queries(client, template, body) -> tuple[int, dict, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = client.post(f"/v1/job-templates/{template.pk}/create-job", body, format="json")
    assert response.status_code == 200, response.json()
    return len(captured.captured_queries), response.json(), [q["sql"] for q in captured.captured_queries]


@pytest.mark.parametrize("kept", [True, False], ids=["kept", "cold"])
def test_create_job_queries_do_not_grow_with_its_values(client, wide, datasets, settings, kept, sent):
    if kept:
        settings.AUTH_USER_CACHE_SECONDS = settings.FLEET_SNAPSHOT_SECONDS = 60
    few, many = wide(1), wide(8)
    if kept:  # warm: the user, the fleet and a template's parameters are read once per process
        create_job_queries(client, few, wide_body(1, datasets))
        create_job_queries(client, many, wide_body(8, datasets))
    counts = [create_job_queries(client, template, wide_body(n, datasets))[0] for n, template in ((1, few), (8, many))]
    expected = KEPT_QUERIES if kept else COLD_QUERIES
    assert counts == [expected, expected]


def test_the_rows_are_read_once_for_checking_and_recording(
    client, wide, datasets, sent, django_capture_on_commit_callbacks
):
    template = wide(8)
    with django_capture_on_commit_callbacks(execute=True):
        _, answer, statements = create_job_queries(client, template, wide_body(8, datasets))
    assert sum('FROM "workspaces_dataset"' in sql for sql in statements) == 1
    assert not any(sql.startswith("UPDATE") for sql in statements)  # marked sent in the insert
    job = Job.objects.get(pk=answer["pk"])
    # Every dataset named (each of the eight parameters, and again in the array) is protected.
    assert set(JobReference.objects.filter(job=job).values_list("row_pk", "path")) == {
        *((d.pk, f"parameter_values.dataset_{i}") for i, d in enumerate(datasets)),
        *((d.pk, "parameter_values.more") for d in datasets),
        (datasets[-1].pk, "input_values.dataset"),
    }
    assert (job.sends, job.enqueued_time is not None) == (1, True)
    assert sent == [(RUN_JOB_TASK, {"kwargs": {"job_id": job.pk}, "queue": None})]


def test_the_answer_is_the_job_as_stored(client, wide, datasets, sent):
    template = wide(2)
    _, answer, _ = create_job_queries(client, template, wide_body(2, datasets))
    assert client.get(f"/v1/jobs/{answer['pk']}").json() == answer


def test_a_default_naming_a_row_is_recorded_too(client, catalogue, admin_user, datasets, sent):
    body = json.loads((BUILTIN / "sleep_train.json").read_text())
    body["specific"]["parameters"]["fallback"] = {"types": [IC_DATASET], "default": datasets[0].pk, "help": "-"}
    template = template_import(data=body, creator=admin_user).template
    given = {"dataset": {"value": datasets[1].pk, "type": IC_DATASET}}
    _, answer, _ = create_job_queries(client, template, {"input_values": given})
    references = JobReference.objects.filter(job_id=answer["pk"]).values_list("row_pk", "path")
    assert set(references) == {(datasets[1].pk, "input_values.dataset"), (datasets[0].pk, "parameter_values.fallback")}


def test_every_missing_row_is_named_once_in_order(client, wide, datasets, sent):
    template = wide(2)
    body = wide_body(2, datasets)
    body["parameter_values"]["dataset_1"]["value"] = 10**9
    body["parameter_values"]["more"]["value"] = [datasets[0].pk, 10**9 + 1]
    body["parameter_values"]["count_0"]["value"] = "ten"
    response = client.post(f"/v1/job-templates/{template.pk}/create-job", body, format="json")
    assert response.status_code == 422
    assert [(e["path"], e["code"]) for e in response.json()["errors"]] == [
        ("parameter_values.count_0.value", "invalid_value"),
        ("parameter_values.dataset_1.value", "not_found"),
        ("parameter_values.more.value[1]", "not_found"),
    ]
    assert not Job.objects.exists() and sent == []


def test_the_kept_fleet_forgets_a_worker_deleted_here(client, wide, datasets, settings, sent):
    settings.FLEET_SNAPSHOT_SECONDS = 60
    template = wide(1)
    assert create_job_queries(client, template, wide_body(1, datasets))[1]["status"] == "created"
    Worker.objects.all().delete()  # the last worker is gone: the verdict must not come from the kept fleet
    response = client.post(f"/v1/job-templates/{template.pk}/create-job", wide_body(1, datasets), format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "not_runnable"
