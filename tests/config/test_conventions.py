"""Conventions every route shares (http-api.md §1): slashes, the error envelope, no 500s, docs, health."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.django_db


def assert_envelope(response, status: int, code: str | None = None) -> dict:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) >= {"detail", "code", "errors"}
    assert isinstance(body["detail"], str) and body["detail"]
    assert isinstance(body["errors"], list)
    if code:
        assert body["code"] == code
    return body


class TestTrailingSlash:
    @pytest.mark.parametrize("path", ["/v1/users/alice", "/v1/users/list", "/v1/users", "/v1/auth/verify"])
    def test_with_and_without_slash_answer_the_same(self, admin_client, user, path):
        method = "post" if path.endswith(("list", "verify")) else "get"
        plain = getattr(admin_client, method)(path, {}, format="json")
        slashed = getattr(admin_client, method)(path + "/", {}, format="json")
        assert plain.status_code == slashed.status_code
        assert plain.status_code != 301 and plain.status_code != 404
        assert plain.json() == slashed.json()


class TestErrorEnvelope:
    def test_unknown_route(self, client):
        body = assert_envelope(client.get("/v1/no-such-thing"), 404, "not_found")
        assert "/v1/no-such-thing" in body["detail"]
        assert_envelope(client.get("/nothing/here/"), 404, "not_found")

    def test_unknown_pk(self, admin_client):
        assert_envelope(admin_client.get("/v1/users/424242"), 404, "not_found")
        assert_envelope(admin_client.get("/v1/users/" + "9" * 40), 404, "not_found")

    def test_bad_json(self, admin_client):
        for raw in ("{bad", "[1, 2", '{"a": }', "\xff\xfe", '{"a": Infinity}'):
            response = admin_client.generic(
                "POST", "/v1/users/list", raw.encode("latin-1"), content_type="application/json"
            )
            assert_envelope(response, 400, "malformed_request")

    def test_wrong_content_type(self, admin_client):
        response = admin_client.generic("POST", "/v1/users/list", b"hello", content_type="text/plain")
        assert_envelope(response, 415, "unsupported_media_type")

    def test_method_not_allowed(self, admin_client):
        assert_envelope(admin_client.put("/v1/users/list", {}, format="json"), 405, "method_not_allowed")

    def test_validation_errors_name_their_paths(self, admin_client):
        response = admin_client.post("/v1/users", {"username": "", "email": "not-an-email"}, format="json")
        body = assert_envelope(response, 400, "invalid")
        assert {"username", "email", "password"} <= {e["path"] for e in body["errors"]}

    def test_huge_numbers_in_bodies(self, admin_client, user):
        raw = json.dumps({"is_staff": False}).replace("false", "1" + "0" * 400)
        response = admin_client.generic("PATCH", f"/v1/users/{user.pk}", raw, content_type="application/json")
        assert response.status_code == 400


class TestDocsAndHealth:
    def test_openapi_schema_and_swagger(self, anon_client):
        schema = anon_client.get("/v1/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json")
        assert schema.status_code == 200
        document = json.loads(schema.content)
        assert document["openapi"].startswith("3.")
        assert "/v1/users/list" in document["paths"]
        docs = anon_client.get("/v1/docs")
        assert docs.status_code == 200
        assert b"swagger" in docs.content.lower()

    def test_healthz_reports_database_and_broker(self, anon_client):
        response = anon_client.get("/healthz")
        assert response.status_code == 200, response.json()
        body = response.json()
        assert body["status"] == "ok"
        assert body["database"]["ok"] and body["broker"]["ok"]

    def test_healthz_reports_a_dead_broker(self, anon_client, monkeypatch):
        from config.api import health

        # Only the health check's view of the broker changes: the app's own configuration (and the
        # connection pool later tests send tasks through) stays untouched.
        monkeypatch.setattr(health, "broker_url", lambda: "redis://127.0.0.1:1/0")
        response = anon_client.get("/healthz")
        assert response.status_code == 503
        assert response.json()["broker"]["ok"] is False


def test_a_restricted_delete_is_a_409_naming_what_blocks_it():
    """RESTRICT relations raise RestrictedError (restricted_objects, not protected_objects)."""
    from django.db.models import RestrictedError

    from config.api.exception_handler import exception_handler
    from config.errors import Conflict
    from config.softdelete import hard_delete

    class Blocker:
        _meta = type("Meta", (), {"verbose_name": "job"})()

        def __str__(self) -> str:
            return "7"

    class Row:
        def delete(self):
            raise RestrictedError("restricted", {Blocker()})

        def __str__(self) -> str:
            return "row 1"

    with pytest.raises(Conflict) as caught:
        hard_delete(instance=Row())
    assert [p.message for p in caught.value.problems] == ["referenced by job 7"]
    response = exception_handler(RestrictedError("restricted", {Blocker()}), {})
    assert response.status_code == 409 and response.data["errors"][0]["message"] == "referenced by 7"
