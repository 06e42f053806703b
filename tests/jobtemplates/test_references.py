"""Rows named inside jobs' JSON values are protected from hard deletion like foreign keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from contracts.models import Domain, Licence
from jobtemplates.models import JobReference
from jobtemplates.services.jobs import job_create
from jobtemplates.services.templates import template_import
from workspaces.models import Dataset

pytestmark = pytest.mark.django_db

BUILTIN = Path(__file__).resolve().parents[2] / "templates" / "builtin"


@pytest.fixture
def train_template(catalogue, admin_user):
    body = json.loads((BUILTIN / "sleep_train.json").read_text())
    return template_import(data=body, creator=admin_user).template


def make_dataset(name: str, admin_user) -> Dataset:
    return Dataset.objects.create(
        name=name,
        domain=Domain.objects.get(name="ic"),
        licence=Licence.objects.get(name="Apache 2.0"),
        is_public=True,
        creator=admin_user,
    )


def test_a_dataset_named_by_a_job_cannot_be_hard_deleted(train_template, admin_user, admin_client):
    used, unused = make_dataset("used", admin_user), make_dataset("unused", admin_user)
    job = job_create(
        template=train_template,
        creator=admin_user,
        body={"input_values": {"dataset": {"value": used.pk, "type": "PK<Dataset<Domain<'Image Classification'>>>"}}},
    )
    assert list(JobReference.objects.filter(job=job).values_list("model_label", "row_pk", "path")) == [
        ("workspaces.Dataset", used.pk, "input_values.dataset")
    ]
    response = admin_client.delete(f"/v1/datasets/{used.pk}/hard")
    assert response.status_code == 409
    assert response.json()["errors"][0]["message"] == f"referenced by job {job.pk} (input_values.dataset)"
    assert Dataset.objects.filter(pk=used.pk).exists()
    assert admin_client.delete(f"/v1/datasets/{unused.pk}/hard").status_code == 200
    # Once the job is gone for good, so is the reference.
    job.delete()
    assert admin_client.delete(f"/v1/datasets/{used.pk}/hard").status_code == 200
