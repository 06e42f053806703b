"""create-job refuses what the pipeline cannot use, naming where: a dataset of another domain for
Train (and for the meta-template's ``train:dataset``), and a model of another framework for Predict."""

from __future__ import annotations

import pytest

from contracts.models import Domain, Licence
from jobtemplates.models import Job, JobStatus
from jobtemplates.services.jobs import job_output_write
from jobtemplates.services.templates import template_import
from tests.factories import DatasetFactory
from tests.pipeline.conftest import IC_DATASET, PIPELINE_TEMPLATES, SKLEARN_MODEL, template_body

pytestmark = pytest.mark.django_db

NOOP_MODEL = "Model<Domain<'Image Classification'>, Framework<'noop', '1'>>"
SPEECH_DATASET = "PK<Dataset<Domain<'Speech'>>>"


@pytest.fixture
def templates(seeded_catalogue, admin_user) -> dict:
    return {
        name: template_import(data=template_body(name), creator=admin_user).template
        for name in (*PIPELINE_TEMPLATES, "sleep_train")
    }


@pytest.fixture
def datasets(seeded_catalogue, media) -> dict:
    licence = Licence.objects.get(name="CC-BY-4.0")
    return {
        domain: DatasetFactory(
            name=f"{domain}-data",
            domain=Domain.objects.get(name=domain),
            licence=licence,
            is_public=True,
            files={"a/1.png": b"x"},
        )
        for domain in ("ic", "sp")
    }


def model_output(template, user, output_type: str):
    """A finished job of ``template`` by ``user`` with a ``model`` output of ``output_type``."""
    job = Job.objects.create(template=template, creator=user, status=JobStatus.FINISHED)
    return job_output_write(job=job, name="model", output_type=output_type, data=b"model bytes")


def create_job(client, template, body, *, dry_run: bool = True):
    query = "?dry_run=true" if dry_run else ""
    return client.post(f"/v1/job-templates/{template.pk}/create-job{query}", body, format="json")


def paths(response) -> list[str]:
    return [problem["path"] for problem in response.json()["errors"]]


class TestWrongDomain:
    def test_a_speech_dataset_given_as_image_classification_is_refused(self, client, templates, datasets):
        response = create_job(
            client,
            templates["sklearn_image_class_train"],
            {"input_values": {"dataset": {"value": datasets["sp"].pk, "type": IC_DATASET}}},
            dry_run=False,
        )
        assert response.status_code == 422, response.json()
        assert paths(response) == ["input_values.dataset.value"]
        assert Job.objects.count() == 0

    def test_a_speech_dataset_type_is_not_accepted(self, client, templates, datasets):
        response = create_job(
            client,
            templates["sklearn_image_class_train"],
            {"input_values": {"dataset": {"value": datasets["sp"].pk, "type": SPEECH_DATASET}}},
        )
        assert response.status_code == 422
        assert paths(response) == ["input_values.dataset.type"]

    def test_the_meta_template_names_the_child_input(self, client, templates, datasets):
        response = create_job(
            client,
            templates["train_and_predict"],
            {
                "input_values": {
                    "train:dataset": {"value": datasets["sp"].pk, "type": IC_DATASET},
                    "predict:dataset": {"value": datasets["ic"].pk, "type": IC_DATASET},
                }
            },
        )
        assert response.status_code == 422
        assert paths(response) == ["input_values.train:dataset.value"]

    def test_an_image_classification_dataset_is_accepted(self, client, templates, datasets):
        response = create_job(
            client,
            templates["train_and_predict"],
            {
                "input_values": {
                    "train:dataset": {"value": datasets["ic"].pk, "type": IC_DATASET},
                    "predict:dataset": {"value": "ic-data v1", "type": "Name<Dataset<Domain<'Image Classification'>>>"},
                }
            },
        )
        assert response.status_code == 200, response.json()


class TestModelOfAnotherFramework:
    def body(self, model, model_type, dataset):
        return {
            "input_values": {
                "model": {"value": model.pk, "type": model_type},
                "dataset": {"value": dataset.pk, "type": IC_DATASET},
            }
        }

    def test_a_noop_model_type_is_not_accepted(self, client, user, templates, datasets):
        noop = model_output(templates["sleep_train"], user, NOOP_MODEL)
        response = create_job(
            client,
            templates["sklearn_image_class_predict"],
            self.body(noop, f"JobOutput<{NOOP_MODEL}>", datasets["ic"]),
            dry_run=False,
        )
        assert response.status_code == 422, response.json()
        assert paths(response) == ["input_values.model.type"]
        assert Job.objects.filter(template=templates["sklearn_image_class_predict"]).count() == 0

    def test_a_noop_model_declared_as_scikit_learn_is_caught_by_its_stored_type(
        self, client, user, templates, datasets
    ):
        noop = model_output(templates["sleep_train"], user, NOOP_MODEL)
        response = create_job(
            client,
            templates["sklearn_image_class_predict"],
            self.body(noop, f"JobOutput<{SKLEARN_MODEL}>", datasets["ic"]),
        )
        assert response.status_code == 422
        assert paths(response) == ["input_values.model.value"]
        assert "noop" in response.json()["errors"][0]["message"]

    def test_a_scikit_learn_model_is_accepted(self, client, user, templates, datasets):
        model = model_output(templates["sklearn_image_class_train"], user, SKLEARN_MODEL)
        response = create_job(
            client,
            templates["sklearn_image_class_predict"],
            self.body(model, f"JobOutput<{SKLEARN_MODEL}>", datasets["ic"]),
        )
        assert response.status_code == 200, response.json()
