"""The OpenAPI schema documents the data layer's routes, each operation with an id of its own."""

from __future__ import annotations

import pytest
from drf_spectacular.generators import SchemaGenerator

from config.urls import urlpatterns


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator(patterns=urlpatterns).get_schema(request=None, public=True)


def test_the_data_layer_routes_are_documented(schema):
    paths = schema["paths"]
    assert set(paths["/v1/datasets/{id}/files/{filename}"]) == {"get", "post", "delete"}
    assert set(paths["/v1/datasets/{id}/files-multi"]) == {"post", "delete"}
    assert set(paths["/v1/teams/{id}/memberships"]) == {"patch"}
    assert set(paths["/v1/teams/{id}/permissions/{username}"]) == {"get"}
    assert set(paths["/v1/classify/datasets/{id}/categories"]) == {"get", "post", "patch"}
    assert set(paths["/v1/speech/datasets/{id}/transcriptions/{filename}"]) == {"get", "post"}
    for prefix in ("datasets", "classify/datasets", "objdet/datasets", "segments/datasets", "spectra/datasets"):
        assert {"post"} <= set(paths[f"/v1/{prefix}/create"]), prefix
        assert {"get", "put", "patch", "delete"} <= set(paths[f"/v1/{prefix}/{{id}}"]), prefix
    for resource in ("teams", "projects"):
        assert {
            "/v1/" + resource + suffix for suffix in ("/list", "/create", "/{id}", "/{id}/hard", "/{id}/reinstate")
        } <= set(paths)


def test_every_operation_has_an_id_of_its_own(schema):
    ids = [operation["operationId"] for item in schema["paths"].values() for operation in item.values()]
    assert len(ids) == len(set(ids))
    metadata = schema["paths"]["/v1/datasets/{id}/metadata/{filename}"]["get"]["operationId"]
    assert metadata == "datasets_metadata_by_filename_retrieve"
    assert schema["paths"]["/v1/datasets/{id}/metadata"]["get"]["operationId"] == "datasets_metadata_retrieve"


def test_a_categories_file_body_is_described(schema):
    body = schema["paths"]["/v1/classify/datasets/{id}/categories"]["post"]["requestBody"]["content"]
    assert body["application/json"]["schema"]["additionalProperties"]["type"] == "array"
