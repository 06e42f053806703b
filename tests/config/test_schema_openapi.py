"""``/v1/schema`` describes the API as it answers (issue 12): lists are arrays, every operation documents its
error responses with the one envelope, filter specs and GET filters are described, a template's schema is
that of its kind, and ``Allow`` lists only what the route serves for the caller."""

from __future__ import annotations

import json

import pytest
from django.core.management import call_command
from django.db import transaction
from werkzeug.test import Client

from tests.config.schema_harness import bearer, connections_kept_open, load_api_schema, seed_rows
from tests.conftest import bearer_client

pytestmark = pytest.mark.django_db

METHODS = ("get", "put", "post", "delete", "patch")


@pytest.fixture(scope="module")
def api_schema():
    return load_api_schema()


@pytest.fixture(scope="module")
def document(api_schema) -> dict:
    return api_schema.raw_schema


def operations(document: dict):
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


@pytest.fixture
def seed(settings, tmp_path):
    return seed_rows(settings, tmp_path)


@pytest.fixture
def call(api_schema):
    """``call(method, path, user=…, json=…)``: a request through the app, answered and checked against the
    documented response of that operation (status, content type, body)."""
    client = Client(api_schema.app)

    def run(method: str, path: str, *, operation: str | None = None, user=None, **kwargs):
        headers = bearer(user) if user is not None else {}
        with connections_kept_open(), transaction.atomic():
            response = client.open(path, method=method.upper(), headers=headers, **kwargs)
            transaction.set_rollback(True)
        documented = api_schema[operation or path][method.upper()]
        documented.validate_response(response)
        return response

    return run


def test_the_document_is_valid_openapi_with_no_warnings(tmp_path):
    out = tmp_path / "schema.json"
    call_command("spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", "--file", str(out))
    assert json.loads(out.read_text())["openapi"].startswith("3.")


class TestLists:
    def test_every_post_list_answers_an_array_and_takes_a_filter_spec(self, document):
        lists = [(path, op) for path, method, op in operations(document) if method == "post" and path.endswith("/list")]
        assert len(lists) >= 15
        for path, operation in lists:
            answer = operation["responses"]["200"]["content"]["application/json"]["schema"]
            assert answer["type"] == "array", path
            assert "$ref" in answer["items"], path
            body = operation["requestBody"]
            assert body["required"] is False, path  # no body at all is the same as {}
            spec = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
            assert spec.endswith("FilterSpec"), path
            properties = document["components"]["schemas"][spec]["properties"]
            assert set(properties) == {"expressions", "order_by", "include_inactive"}, path
            assert properties["expressions"]["items"] == {"$ref": "#/components/schemas/FilterExpression"}

    def test_the_filter_spec_names_the_resource_fields(self, document):
        spec = document["components"]["schemas"]["JobFilterSpec"]
        order_fields = spec["properties"]["order_by"]["items"]["properties"]["field"]["allOf"][0]["enum"]
        assert {"status", "template.name", "creation_time"} <= set(order_fields)
        assert "creator.password" not in order_fields
        assert spec["additionalProperties"] is False
        kinds = {
            name: document["components"]["schemas"][name]["properties"]["type"]["allOf"][0]["enum"]
            for name in ("FilterExact", "FilterContains", "FilterIsNull", "FilterCompare", "FilterAnd", "FilterOr")
        }
        assert kinds["FilterIsNull"] == ["isnull", "is_null"]
        assert kinds["FilterCompare"] == ["compare"]

    def test_a_list_answer_matches_its_schema(self, call, seed):
        response = call("post", "/v1/jobs/list", user=seed.users["user"], json={})
        assert isinstance(response.json, list) and response.json

    def test_only_get_lists_are_paginated(self, document):
        matching = document["paths"]["/v1/job-templates/get-all-matching-templates/{contract}"]["get"]
        assert matching["responses"]["200"]["content"]["application/json"]["schema"]["type"] == "array"
        paginated = document["paths"]["/v1/job-templates"]["get"]["responses"]["200"]["content"]
        reference = paginated["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
        assert set(document["components"]["schemas"][reference]["properties"]) >= {"count", "results"}

    def test_get_lists_document_their_query_filters(self, document):
        parameters = {p["name"]: p for p in document["paths"]["/v1/job-templates"]["get"]["parameters"]}
        assert {"name", "domain", "scope", "kind", "version", "contract", "runnable", "include_inactive"} <= set(
            parameters
        )
        assert {"page", "page_size"} <= set(parameters)
        assert parameters["version"]["schema"]["type"] == "integer"
        jobs = {p["name"]: p["schema"]["type"] for p in document["paths"]["/v1/jobs"]["get"]["parameters"]}
        assert jobs["status"] == "string" and jobs["template"] == "integer"


class TestErrors:
    def test_every_operation_documents_its_errors_with_the_envelope(self, document):
        responses = document["components"]["responses"]
        for path, method, operation in operations(document):
            codes = set(operation["responses"])
            assert {"400", "414", "503"} <= codes, (method, path)
            errors = {code: answer for code, answer in operation["responses"].items() if code >= "400"}
            for code, answer in errors.items():
                name = answer["$ref"].rsplit("/", 1)[-1]
                schema = responses[name]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorEnvelope"}, (method, path, code)
            if "{" in path:
                assert "404" in codes, (method, path)
            if operation.get("security") and {} not in operation["security"]:
                assert {"401", "403"} <= codes, (method, path)
            if "requestBody" in operation:
                assert {"413", "415"} <= codes, (method, path)

    def test_the_envelope_allows_extra_keys(self, document):
        envelope = document["components"]["schemas"]["ErrorEnvelope"]
        assert envelope["required"] == ["detail", "code", "errors"]
        assert envelope["additionalProperties"] is True
        item = document["components"]["schemas"]["ErrorItem"]
        assert item["required"] == ["path", "code", "message"]

    def test_errors_answered_match_what_is_documented(self, call, seed):
        user, admin = seed.users["user"], seed.users["admin"]
        bad_spec = call("post", "/v1/jobs/list", user=user, json={"expressions": [{"type": "exact"}]})
        assert bad_spec.status_code == 400
        assert {e["path"] for e in bad_spec.json["errors"]} >= {"expressions[0].field", "expressions[0].value"}
        assert call("get", "/v1/jobs/424242", operation="/v1/jobs/{id}", user=user).status_code == 404
        assert call("get", "/v1/jobs", operation="/v1/jobs").status_code == 401
        assert call("post", "/v1/users/list", user=user, json={}).status_code == 403
        assert call("get", "/v1/jobs", user=admin, query_string={"page": 99}).status_code == 404
        refused = call("post", "/v1/auth/obtain", json={"username": "root", "password": "wrong"})
        assert refused.status_code == 401

    def test_a_user_by_username_is_a_one_element_array(self, call, seed):
        admin, user = seed.users["admin"], seed.users["user"]
        by_pk = call("get", f"/v1/users/{user.pk}", operation="/v1/users/{id}", user=admin).json
        by_name = call("get", "/v1/users/alice", operation="/v1/users/{id}", user=admin).json
        assert by_name == [by_pk]

    def test_hard_delete_and_reinstate_by_delete_answer_the_row(self, document):
        for path in ("/v1/job-templates/{id}/hard", "/v1/job-templates/{id}/reinstate", "/v1/datasets/{id}/hard"):
            responses = document["paths"][path]["delete"]["responses"]
            assert "204" not in responses, path
            assert "$ref" in responses["200"]["content"]["application/json"]["schema"], path
        assert "204" in document["paths"]["/v1/job-templates/{id}"]["delete"]["responses"]


class TestTemplates:
    def test_one_schema_per_kind(self, document):
        schemas = document["components"]["schemas"]
        assert [branch["$ref"] for branch in schemas["Template"]["oneOf"]] == [
            "#/components/schemas/WorkableTemplate",
            "#/components/schemas/MetaTemplate",
        ]
        workable, meta = schemas["WorkableTemplate"], schemas["MetaTemplate"]
        assert "graph" not in workable["properties"] and "graph" not in workable["required"]
        assert {"executor_class", "required_packages"} <= set(workable["required"])
        assert "graph" in meta["required"]
        assert not {"executor_class", "required_packages", "queue"} & set(meta["properties"])

    def test_both_kinds_answer_as_documented(self, call, seed):
        user = seed.users["user"]
        workable = seed.path_values["job-templates"]["id"]
        meta = seed.path_values["job-templates-meta"]["id"]
        assert call("get", f"/v1/job-templates/{workable}", operation="/v1/job-templates/{id}", user=user).json[
            "kind"
        ] == ("workable")
        assert call("get", f"/v1/job-templates/{meta}", operation="/v1/job-templates/{id}", user=user).json["kind"] == (
            "meta"
        )
        listed = call("post", "/v1/job-templates/list", user=user, json={}).json
        assert {template["kind"] for template in listed} == {"workable", "meta"}

    def test_a_template_without_its_graph_does_not_pass_as_meta(self, api_schema, call, seed):
        meta = seed.path_values["job-templates-meta"]["id"]
        response = call("get", f"/v1/job-templates/{meta}", operation="/v1/job-templates/{id}", user=seed.users["user"])
        body = response.json
        del body["graph"]
        response.set_data(json.dumps(body))
        with pytest.raises(AssertionError, match="oneOf"):  # neither kind: meta needs its graph
            api_schema["/v1/job-templates/{id}"]["GET"].validate_response(response)


def allow(response) -> set[str]:
    return {method.strip() for method in response.headers.get("Allow", "").split(",") if method.strip()}


class TestAllow:
    """The seed's users (its admin ``root``, its plain user ``alice``), through DRF's test client."""

    def test_methods_refused_to_everyone_are_not_advertised(self, seed):
        admin = bearer_client(seed.users["admin"])
        template = seed.path_values["job-templates"]["id"]
        options = admin.options(f"/v1/job-templates/{template}")
        assert options.status_code == 200
        assert allow(options) == {"GET", "HEAD", "DELETE", "OPTIONS"}, options.headers
        # Still refused as the spec says (403), just not advertised.
        assert admin.put(f"/v1/job-templates/{template}", {}, format="json").status_code == 403
        assert allow(admin.options("/v1/job-templates/create")) == {"OPTIONS"}

    def test_admin_methods_are_advertised_to_admins_only(self, seed):
        domain = seed.path_values["domains"]["id"]
        as_admin = bearer_client(seed.users["admin"]).options(f"/v1/domains/{domain}")
        assert allow(as_admin) == {"GET", "HEAD", "PUT", "PATCH", "DELETE", "OPTIONS"}, as_admin.headers
        assert set(as_admin.json()["actions"]) == {"PUT"}
        as_user = bearer_client(seed.users["user"]).options(f"/v1/domains/{domain}")
        assert allow(as_user) == {"GET", "HEAD", "OPTIONS"}
        assert "actions" not in as_user.json()

    def test_a_405_lists_what_the_caller_may_use(self, seed):
        refused = bearer_client(seed.users["admin"]).put("/v1/users/list", {}, format="json")
        assert refused.status_code == 405
        assert refused.json()["code"] == "method_not_allowed"
        assert allow(refused) == {"POST", "OPTIONS"}, refused.headers
        as_user = bearer_client(seed.users["user"]).put("/v1/users/list", {}, format="json")
        assert as_user.status_code == 405
        assert allow(as_user) == {"OPTIONS"}

    def test_a_bad_token_still_gets_its_401(self, anon_client, seed):
        anon_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-token")
        response = anon_client.options("/v1/domains")
        assert response.status_code == 401
        assert response.json()["code"] == "token_not_valid"
