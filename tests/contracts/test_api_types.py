"""``/v1/job-types`` (with get-all-values) and ``/v1/job-contracts`` through HTTP."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from contracts.contracts import CONTRACTS
from contracts.types import TYPE_CLASSES, json_schema, parse_type, validate_value
from jobtemplates.models import TemplateScope
from jobtemplates.resident import register_job_output_binding
from tests.contracts.factories_resident import job_output
from tests.factories import (
    CUDAVersionFactory,
    DatasetFactory,
    DockerImageFactory,
    DomainFactory,
    FrameworkFactory,
    HardwareFactory,
    PretrainedModelFactory,
    ProjectFactory,
)

pytestmark = pytest.mark.django_db

IC_MODEL = "Model<Domain<'Image Classification'>, Framework<'scikit-learn', '1'>>"


@pytest.fixture(autouse=True)
def _job_output_binding():
    register_job_output_binding()


def values_url(type_string: str) -> str:
    return f"/v1/job-types/get-all-values/{quote(type_string, safe='')}"


def assert_envelope(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) >= {"detail", "code", "errors"} and body["code"] == code
    return body


class TestJobTypes:
    def test_list_has_every_registered_type_in_order(self, client):
        response = client.post("/v1/job-types/list", format="json")
        assert response.status_code == 200
        rows = response.json()
        assert [row["name"] for row in rows] == list(TYPE_CLASSES) and len(rows) == 27
        assert set(rows[0]) == {"pk", "name", "pkg", "cls"}
        by_name = {row["name"]: row for row in rows}
        assert by_name["PK"] | {"pk": 0} == {
            "pk": 0,
            "name": "PK",
            "pkg": "ufdl.jobtypes",
            "cls": "ufdl.jobtypes.standard.PK",
        }
        assert by_name["str"]["cls"] == "ufdl.jobtypes.base.String"

    def test_filter_spec_and_its_allow_list(self, client):
        spec = {
            "expressions": [{"type": "contains", "field": "cls", "sub_string": ".server."}],
            "order_by": [{"field": "name", "ascending": False}],
        }
        names = [row["name"] for row in client.post("/v1/job-types/list", spec, format="json").json()]
        assert names == sorted(
            ["CUDAVersion", "Dataset", "DockerImage", "Domain", "Framework", "Hardware", "PretrainedModel"],
            reverse=True,
        )
        bad = {"expressions": [{"type": "exact", "field": "id", "value": 1}]}
        body = assert_envelope(client.post("/v1/job-types/list", bad, format="json"), 400, "invalid_filter_spec")
        assert body["errors"][0]["path"] == "expressions[0].field"

    def test_paginated_list_and_query_filter(self, client):
        page = client.get("/v1/job-types?page_size=5").json()
        assert page["count"] == 27 and len(page["results"]) == 5
        assert [row["name"] for row in client.get("/v1/job-types?name=Dataset").json()["results"]] == ["Dataset"]

    def test_retrieve(self, client):
        listed = client.post("/v1/job-types/list", format="json").json()[10]
        assert client.get(f"/v1/job-types/{listed['pk']}").json() == listed
        assert client.get(f"/v1/job-types/{listed['pk']}/").json() == listed
        assert_envelope(client.get("/v1/job-types/999999"), 404, "not_found")

    def test_read_only(self, client, admin_client):
        pk = client.post("/v1/job-types/list", format="json").json()[0]["pk"]
        for api in (client, admin_client):
            assert api.put(f"/v1/job-types/{pk}", {"name": "x"}, format="json").status_code == 405
            assert api.patch(f"/v1/job-types/{pk}", {"name": "x"}, format="json").status_code == 405
            assert api.delete(f"/v1/job-types/{pk}").status_code == 405
            assert api.post("/v1/job-types", {"name": "x"}, format="json").status_code == 405

    def test_anonymous_is_401(self, anon_client):
        assert_envelope(anon_client.post("/v1/job-types/list", format="json"), 401, "not_authenticated")
        assert_envelope(anon_client.get("/v1/job-types/1"), 401, "not_authenticated")
        assert_envelope(anon_client.get(values_url("Domain")), 401, "not_authenticated")
        assert_envelope(anon_client.get("/v1/job-contracts"), 401, "not_authenticated")


class TestJobContracts:
    def test_list_and_retrieve_with_signature(self, client):
        rows = client.post("/v1/job-contracts/list", format="json").json()
        assert [row["name"] for row in rows] == list(CONTRACTS) == ["Predict", "Train", "Export"]
        assert all(set(row) == {"pk", "name", "pkg", "cls"} for row in rows)
        for row in rows:
            detail = client.get(f"/v1/job-contracts/{row['pk']}").json()
            assert detail == {**row, "signature": CONTRACTS[row["name"]].signature()}
        train = client.get(f"/v1/job-contracts/{rows[1]['pk']}").json()
        assert train["cls"] == "ufdl.jobcontracts.standard.Train"
        assert train["signature"] == {
            "name": "Train",
            "parameters": [
                {"name": "DomainType", "bound": "Domain<str>"},
                {"name": "FrameworkType", "bound": "Framework<str, str>"},
            ],
            "inputs": {"dataset": ["PK<Dataset<DomainType>>"]},
            "outputs": {"model": "Model<DomainType, FrameworkType>"},
        }

    def test_filters_pagination_and_read_only(self, client):
        spec = {"expressions": [{"type": "exact", "field": "name", "value": "Export"}]}
        assert [row["name"] for row in client.post("/v1/job-contracts/list", spec, format="json").json()] == ["Export"]
        assert client.get("/v1/job-contracts?name=Train").json()["count"] == 1
        pk = client.post("/v1/job-contracts/list", format="json").json()[0]["pk"]
        assert client.delete(f"/v1/job-contracts/{pk}").status_code == 405
        assert client.put(f"/v1/job-contracts/{pk}", {}, format="json").status_code == 405


class TestGetAllValues:
    def test_catalogue_types(self, client):
        domain = DomainFactory()
        speech = DomainFactory(name="sp")
        framework = FrameworkFactory(name="scikit-learn", version="1")
        HardwareFactory(generation="Pascal")
        CUDAVersionFactory(version="11.1")
        image = DockerImageFactory()  # on those rows
        model = PretrainedModelFactory()
        assert [row["pk"] for row in client.get(values_url("Domain")).json()] == [domain.pk, speech.pk]
        assert client.get(values_url("Domain<'Speech'>")).json() == [
            {"pk": speech.pk, "name": "sp", "description": "Speech"}
        ]
        assert client.get(values_url("Framework<'scikit-learn', str>")).json() == [
            {"pk": framework.pk, "name": "scikit-learn", "version": "1"}
        ]
        assert [row["generation"] for row in client.get(values_url("Hardware")).json()] == ["Pascal"]
        assert [row["full_version"] for row in client.get(values_url("CUDAVersion")).json()] == ["11.1.0"]
        images = client.get(values_url("DockerImage<Domain<'Image Classification'>, Framework>")).json()
        assert [row["pk"] for row in images] == [image.pk]
        assert client.get(values_url("DockerImage<Domain<'Speech'>, Framework>")).json() == []
        assert [row["pk"] for row in client.get(values_url("PretrainedModel")).json()] == [model.pk]

    def test_values_are_valid_values_of_the_listed_type(self, client, seeded_catalogue):
        # What get-all-values lists can be sent back as a value of that type (UFDL's row shapes).
        for type_string in (
            "Domain",
            "Framework",
            "Hardware",
            "CUDAVersion",
            "DockerImage<Domain<'Image Classification'>, Framework<'tensorflow', '1.14'>>",
            "PretrainedModel<Domain<'Object Detection'>, Framework>",
        ):
            values = client.get(values_url(type_string)).json()
            assert values, type_string
            for value in values:
                assert validate_value(parse_type(type_string), value) == [], (type_string, value)
                assert set(value) == set(json_schema(parse_type(type_string))["properties"])

    def test_a_docker_image_value_is_what_the_docker_resource_answers(self, client, seeded_catalogue):
        (value, *_) = client.get(values_url("DockerImage<Domain<'Speech'>, Framework>")).json()
        assert value == client.get(f"/v1/docker/{value['pk']}").json()
        assert value["domain"] == "Speech"

    def test_registry_passwords_never_appear(self, client, admin_client):
        image = DockerImageFactory()
        for api in (client, admin_client):
            for type_string in ("DockerImage", "PK<DockerImage>", "Name<DockerImage>"):
                response = api.get(values_url(type_string))
                assert response.status_code == 200
                assert image.registry_password.encode() not in response.content
                assert b"registry_password" not in response.content

    def test_datasets_follow_visibility(self, client, user, other_user, admin_client):
        project = ProjectFactory(name="team", members={user: "R"})
        own = DatasetFactory(creator=user)
        public = DatasetFactory(creator=other_user, is_public=True)
        shared = DatasetFactory(creator=other_user, project=project)
        hidden = DatasetFactory(creator=other_user)
        speech = DatasetFactory(creator=user, domain=DomainFactory(name="sp"))
        visible_ic = [own.pk, public.pk, shared.pk]
        for type_string in (
            "Dataset<Domain<'Image Classification'>>",
            "PK<Dataset<Domain<'Image Classification'>>>",
            "Name<Dataset<Domain<'Image Classification'>>>",
        ):
            assert [row["pk"] for row in client.get(values_url(type_string)).json()] == visible_ic, type_string
        everything = admin_client.get(values_url("Dataset")).json()
        assert [row["pk"] for row in everything] == [own.pk, public.pk, shared.pk, hidden.pk, speech.pk]
        # A dataset value names its domain by description (what Dataset<Domain<'…'>> fixes), as /v1/datasets
        # does, its project by pk, and lists no files.
        assert everything[-1]["domain"] == "Speech" and "files" not in everything[-1]
        assert everything[2]["project"] == project.pk
        assert all(validate_value(parse_type("Dataset"), row) == [] for row in everything)

    def test_job_outputs_of_a_content_type(self, client, user, other_user):
        own = job_output(type_=IC_MODEL, creator=user, scope=TemplateScope.USER)
        job_output(type_=IC_MODEL, creator=other_user, scope=TemplateScope.USER)
        job_output(type_="Model<Domain<'Speech'>, Framework<'scikit-learn', '1'>>", creator=user)
        rows = client.get(values_url("JobOutput<Model<Domain<'Image Classification'>, Framework>>")).json()
        assert rows == [
            {
                "pk": own.pk,
                "job": own.job_id,
                "name": "model",
                "type": IC_MODEL,
                "size": 0,
                "creation_time": rows[0]["creation_time"],
            }
        ]
        assert len(client.get(values_url("JobOutput")).json()) == 2

    def test_unencoded_paths_slashes_and_quotes(self, client):
        DomainFactory(name="ab", description="a/b")
        assert [row["name"] for row in client.get("/v1/job-types/get-all-values/Domain<'a/b'>").json()] == ["ab"]
        assert [row["name"] for row in client.get("/v1/job-types/get-all-values/Domain<'a/b'>/").json()] == ["ab"]
        assert client.get("/v1/job-types/get-all-values/Hardware/").json() == []

    @pytest.mark.parametrize(
        ("type_string", "code"),
        [
            ("Dataset<", "type_parse_error"),
            ("NoSuchType", "type_parse_error"),
            ("Domain<5>", "type_parse_error"),
            ("int", "not_server_resident"),
            ("Array<PK<Dataset>>", "not_server_resident"),
            (IC_MODEL, "not_server_resident"),
            ("ServerResidentType", "abstract_type"),
            ("NamedServerType", "abstract_type"),
            ("PK", "abstract_type"),
            ("Name<NamedServerType>", "abstract_type"),
        ],
    )
    def test_bad_types_are_400_naming_the_type(self, client, type_string, code):
        body = assert_envelope(client.get(values_url(type_string)), 400, code)
        assert [(error["path"], error["code"]) for error in body["errors"]] == [("type", code)]


class TestAdmin:
    def test_listings_are_read_only_in_the_admin(self, rf, admin_user):
        from django.contrib import admin

        import contracts.admin_types  # noqa: F401  (registers the pages)
        from contracts.models import JobContract, JobType

        request = rf.get("/admin/")
        request.user = admin_user
        for model in (JobType, JobContract):
            model_admin = admin.site._registry[model]
            assert model_admin.has_view_permission(request)
            assert not model_admin.has_add_permission(request)
            assert not model_admin.has_change_permission(request, model.objects.first())
            assert not model_admin.has_delete_permission(request, model.objects.first())
