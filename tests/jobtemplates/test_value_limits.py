"""Bounded values and text (issue 12): integers within bigint, free text within TEXT_FIELD_MAX_CHARS.

Integer parameters and PK values past −2^63..2^63−1 are a 422 naming the value's path (the no-op's
``steps = 10**30`` was a job that looped until cancelled); the schemas say so. Descriptions, help
texts, tags and transcriptions over the cap are refused naming their path, through every way in:
create-job, the job's description, template import, datasets.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from jobtemplates.models import Job
from tests.factories import DatasetFactory, DomainFactory, LicenceFactory
from tests.jobtemplates.conftest import load_template
from tests.jobtemplates.test_jobs_create import API, IC_DATASET, create_job, problems

pytestmark = pytest.mark.django_db

INT_MAX = 2**63 - 1
INT_MIN = -(2**63)
NOOP = load_template(Path(__file__).parents[2] / "templates" / "builtin" / "noop.json")


@pytest.fixture
def noop(import_body):
    return import_body(NOOP)


@pytest.fixture
def small_text_cap(settings):
    settings.TEXT_FIELD_MAX_CHARS = 50
    return 50


class TestIntegers:
    @pytest.mark.parametrize("steps", [10**30, INT_MAX + 1, INT_MIN - 1])
    def test_out_of_range_parameter_is_a_422_naming_it(self, client, noop, steps):
        response = create_job(
            client, noop, {"input_values": {}, "parameter_values": {"steps": {"value": steps, "type": "int"}}}
        )
        assert response.status_code == 422, response.json()
        assert problems(response) == [("parameter_values.steps.value", "invalid_value")]
        assert "9223372036854775807" in json.dumps(response.json()) or "-9223372036854775808" in json.dumps(
            response.json()
        )
        assert not Job.objects.exists()

    @pytest.mark.parametrize("steps", [INT_MAX, INT_MIN])
    def test_the_bounds_themselves_are_accepted(self, client, noop, steps):
        body = {"input_values": {}, "parameter_values": {"steps": {"value": steps, "type": "int"}}}
        response = create_job(client, noop, body, dry_run="true")
        assert response.status_code == 200, response.json()
        assert response.json()["resolved_parameters"]["steps"] == {"value": steps, "type": "int"}

    def test_a_pk_value_past_bigint_is_a_422_not_a_database_error(self, client, train_predict):
        train, _ = train_predict
        body = {"input_values": {"dataset": {"value": 10**30, "type": IC_DATASET}}}
        response = create_job(client, train, body)
        assert response.status_code == 422, response.json()
        assert ("input_values.dataset.value", "invalid_value") in problems(response)

    def test_schemas_state_the_bounds(self, client, noop):
        parameters = client.get(f"{API}/{noop.pk}/get-all-parameters").json()
        assert parameters["steps"]["types"]["int"] == {"type": "integer", "minimum": INT_MIN, "maximum": INT_MAX}


class TestText:
    def test_create_job_description_over_the_cap(self, client, noop, small_text_cap):
        response = create_job(client, noop, {"input_values": {}, "description": "x" * 51})
        assert response.status_code == 422, response.json()
        assert problems(response) == [("description", "too_long")]
        assert "TEXT_FIELD_MAX_CHARS" in response.json()["errors"][0]["message"]
        assert not Job.objects.exists()
        at_cap = create_job(client, noop, {"input_values": {}, "description": "x" * 50}, dry_run="true")
        assert at_cap.status_code == 200, at_cap.json()

    def test_default_cap_refuses_a_megabyte_description(self, client, noop):
        response = create_job(client, noop, {"input_values": {}, "description": "x" * 1_000_000})
        assert response.status_code == 422
        assert problems(response) == [("description", "too_long")]
        assert len(response.content) < 2000  # the answer does not echo the text

    def test_job_description_update_over_the_cap(self, client, noop, small_text_cap):
        job = Job.objects.get(pk=create_job(client, noop, {"input_values": {}}).json()["pk"])
        for method in (client.patch, client.put):
            response = method(f"/v1/jobs/{job.pk}", {"description": "y" * 51}, format="json")
            assert response.status_code == 400, response.json()
            assert [(e["path"], e["code"]) for e in response.json()["errors"]] == [("description", "too_long")]
        job.refresh_from_db()
        assert job.description == ""

    def test_template_import_description_and_help_over_the_cap(self, admin_client, catalogue, small_text_cap):
        body = json.loads(json.dumps(NOOP))
        body["name"] = "long_texts"
        body["description"] = "d" * 51
        body["specific"]["parameters"]["steps"]["help"] = "h" * 51
        response = admin_client.post(f"{API}/import", body, format="json")
        assert response.status_code in (400, 422), response.json()
        paths = {(e["path"], e["code"]) for e in response.json()["errors"]}
        assert paths == {("description", "too_long"), ("specific.parameters.steps.help", "too_long")}

    def test_dataset_description_tags_over_the_cap(self, client, small_text_cap):
        LicenceFactory(name="CC-BY-4.0")
        DomainFactory(name="ic")
        body = {"name": "flowers", "domain": "ic", "licence": "CC-BY-4.0", "description": "d" * 51, "tags": "t" * 51}
        response = client.post("/v1/datasets/create", body, format="json")
        assert response.status_code == 400, response.json()
        assert {(e["path"], e["code"]) for e in response.json()["errors"]} == {
            ("description", "too_long"),
            ("tags", "too_long"),
        }

    def test_dataset_name_over_its_column_is_a_clean_400(self, client, user):
        LicenceFactory(name="CC-BY-4.0")
        dataset = DatasetFactory(creator=user)
        response = client.patch(f"/v1/datasets/{dataset.pk}", {"name": "n" * 201}, format="json")
        assert response.status_code == 400, response.json()
        assert [e["path"] for e in response.json()["errors"]] == ["name"]
