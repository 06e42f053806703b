"""Request hygiene (config/http_limits, config/api/parsers): body sizes (413), URL length (414), JSON nesting
(400), NUL characters and lone surrogates anywhere a client sends text (400 naming each path), malformed
forms (400): always the error envelope, never a 500. Requests go as UFDL's client sends them: JSON bodies
and a Bearer token, through the HTTP layer."""

from __future__ import annotations

import json

import pytest

from tests.factories import DatasetFactory, TeamFactory

pytestmark = pytest.mark.django_db

ENVELOPE = {"detail", "code", "errors"}


def send(client, path: str, body: bytes, content_type: str = "application/json", **extra):
    """A POST of raw ``body`` bytes; server errors come back as responses (never raised)."""
    client.raise_request_exception = False
    return client.generic("POST", path, body, content_type=content_type, **extra)


def envelope(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:500]
    body = response.json()
    assert ENVELOPE <= set(body), body
    assert body["code"] == code, body
    return body


def paths(body: dict) -> list[str]:
    return [problem["path"] for problem in body["errors"]]


def nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


# --- body size --------------------------------------------------------------------------------------


class TestBodySize:
    def test_a_json_body_past_the_limit_is_413_naming_it(self, client, settings):
        limit = settings.REQUEST_JSON_MAX_BYTES
        assert limit == 4 * 1024 * 1024  # the documented default
        body = json.dumps({"expressions": [], "pad": "x" * limit}).encode()
        answer = envelope(send(client, "/v1/datasets/list", body), 413, "body_too_large")
        assert answer["limit"] == limit
        assert str(limit) in answer["detail"] and "REQUEST_JSON_MAX_BYTES" in answer["detail"]
        assert paths(answer) == ["body"]

    def test_a_json_body_at_the_limit_is_parsed(self, client, settings):
        settings.REQUEST_JSON_MAX_BYTES = 200
        body = json.dumps({"expressions": [], "order_by": []}).encode().ljust(200)
        response = send(client, "/v1/datasets/list", body)
        assert response.status_code == 200, response.content
        assert response.json() == []

    def test_a_declared_length_past_the_limit_is_refused_before_reading(self, client, settings):
        settings.REQUEST_JSON_MAX_BYTES = 1000
        # The body itself is small: the declared length alone decides.
        answer = envelope(send(client, "/v1/datasets/list", b"{}", CONTENT_LENGTH="5000"), 413, "body_too_large")
        assert answer["limit"] == 1000 and "5000 bytes" in answer["detail"]

    def test_a_form_body_past_the_limit_is_413(self, admin_client, client, settings):
        settings.REQUEST_JSON_MAX_BYTES = 1000
        body = b"username=" + b"x" * 2000
        response = send(admin_client, "/v1/users/create", body, content_type="application/x-www-form-urlencoded")
        assert envelope(response, 413, "body_too_large")["limit"] == 1000

    def test_every_body_past_the_overall_cap_is_413_whatever_its_type(self, client, settings):
        settings.REQUEST_BODY_MAX_BYTES = 1000
        for content_type in ("application/data", "application/zip", "multipart/form-data; boundary=x", "text/csv"):
            response = send(client, "/v1/datasets/list", b"x" * 1001, content_type=content_type)
            answer = envelope(response, 413, "body_too_large")
            assert answer["limit"] == 1000 and "REQUEST_BODY_MAX_BYTES" in answer["detail"]

    def test_a_raw_upload_of_a_json_file_keeps_the_file_limit(self, client, user, settings):
        # A dataset file sent as application/json is a file, not a request body to parse: only the file
        # limit applies to it.
        settings.REQUEST_JSON_MAX_BYTES = 100
        dataset = DatasetFactory(creator=user)
        data = json.dumps({"pad": "x" * 500}).encode()
        response = send(client, f"/v1/datasets/{dataset.pk}/files/big.json", data)
        assert response.status_code == 200, response.content
        assert response.json()["size"] == len(data)

    def test_multipart_fields_past_their_limit_are_413(self, admin_client, client, settings):
        settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
        body = b'--b\r\nContent-Disposition: form-data; name="username"\r\n\r\n' + b"x" * 2000 + b"\r\n--b--\r\n"
        response = send(admin_client, "/v1/users/create", body, content_type="multipart/form-data; boundary=b")
        answer = envelope(response, 413, "body_too_large")
        assert answer["limit"] == 1000 and "DATA_UPLOAD_MAX_MEMORY_SIZE" in answer["detail"]

    def test_too_many_form_fields_are_400(self, admin_client, client, settings):
        settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
        body = "&".join(f"f{index}=1" for index in range(20)).encode()
        response = send(admin_client, "/v1/users/create", body, content_type="application/x-www-form-urlencoded")
        assert envelope(response, 400, "too_many_fields")["limit"] == 10
        answer = envelope(client.get("/v1/datasets?" + body.decode()), 400, "too_many_fields")
        assert answer["limit"] == 10

    def test_a_content_length_that_is_not_a_number_is_400(self, client):
        response = send(client, "/v1/datasets/list", b"{}", CONTENT_LENGTH="12abc")
        assert paths(envelope(response, 400, "bad_content_length")) == ["headers.Content-Length"]


# --- malformed forms --------------------------------------------------------------------------------


class TestMalformedForms:
    @pytest.mark.parametrize(
        "content_type, body",
        [
            ("multipart/form-data", b"abc"),  # no boundary
            ("multipart/form-data; boundary=", b"abc"),
            ("multipart/form-data; boundary=\x01\x02", b"--\x01\x02\r\n"),
        ],
    )
    def test_a_multipart_body_that_cannot_be_read_is_400_with_the_envelope(self, client, content_type, body):
        envelope(send(client, "/v1/datasets/list", body, content_type=content_type), 400, "malformed_request")

    def test_an_unknown_charset_is_not_a_500(self, client):
        response = send(client, "/v1/datasets/list", b"{}", content_type="application/json; charset=no-such")
        assert response.status_code == 200, response.content  # Django falls back to UTF-8

    def test_a_body_in_another_declared_charset_is_read_in_it(self, client):
        body = json.dumps({"expressions": [{"type": "exact", "field": "name", "value": "\x00"}]}).encode("utf-16")
        response = send(client, "/v1/datasets/list", body, content_type="application/json; charset=utf-16")
        assert paths(envelope(response, 400, "invalid_text")) == ["expressions[0].value"]


# --- URL length -------------------------------------------------------------------------------------


class TestURLLength:
    def test_a_url_past_the_limit_is_414_naming_it(self, client, settings):
        assert settings.REQUEST_MAX_URL_BYTES == 8192
        answer = envelope(client.get("/v1/datasets?name=" + "a" * 8192), 414, "url_too_long")
        assert answer["limit"] == 8192 and paths(answer) == ["url"]

    def test_a_url_at_the_limit_is_served(self, client, settings):
        url = "/v1/datasets?name="
        response = client.get(url + "a" * (settings.REQUEST_MAX_URL_BYTES - len(url)))
        assert response.status_code == 200, response.content[:300]

    def test_the_path_counts_percent_encoded(self, client, settings):
        settings.REQUEST_MAX_URL_BYTES = 100
        # 30 characters, 90 bytes once percent-encoded as UTF-8 (plus the prefix).
        envelope(client.get("/v1/users/" + "é" * 45), 414, "url_too_long")


# --- NUL characters and lone surrogates ----------------------------------------------------------------


class TestUnstorableText:
    def test_nul_in_filter_values_and_keys_names_every_path_in_order(self, client):
        body = {
            "expressions": [
                {"type": "exact", "field": "name", "value": "a\x00b"},
                {"type": "contains", "field": "name", "sub_string": "ok"},
                {"type": "or", "sub_expressions": [{"type": "exact", "field": "name\x00", "value": "\x00"}]},
            ],
            "order\x00by": [],
        }
        answer = envelope(send(client, "/v1/datasets/list", json.dumps(body).encode()), 400, "invalid_text")
        assert paths(answer) == [
            "expressions[0].value",
            "expressions[2].sub_expressions[0].field",
            "expressions[2].sub_expressions[0].value",
            "order\\u0000by",
        ]
        assert {problem["code"] for problem in answer["errors"]} == {"invalid_character"}
        assert "NUL" in answer["errors"][0]["message"] and answer["errors"][-1]["message"].startswith("the key")

    @pytest.mark.parametrize("escape", ["\\ud800", "\\udfff", "\\ude00\\ud83d"])
    def test_a_lone_surrogate_is_400(self, client, escape):
        body = b'{"expressions": [{"type": "exact", "field": "name", "value": "x' + escape.encode() + b'"}]}'
        answer = envelope(send(client, "/v1/datasets/list", body), 400, "invalid_text")
        assert paths(answer)[0] == "expressions[0].value" and "surrogate" in answer["errors"][0]["message"]

    def test_a_surrogate_pair_is_a_character_like_any_other(self, client):
        body = b'{"expressions": [{"type": "exact", "field": "name", "value": "\\ud83d\\ude00"}]}'
        response = send(client, "/v1/datasets/list", body)
        assert response.status_code == 200 and response.json() == []

    @pytest.mark.parametrize(
        "route, body, path",
        [
            ("/v1/users/create", {"username": "dave", "password": "long-enough-pw", "email": "d\x00@x.org"}, "email"),
            (
                "/v1/job-templates/list",
                {"expressions": [{"type": "exact", "field": "name", "value": "\x00"}]},
                "expressions[0].value",
            ),
            ("/v1/auth/obtain", {"username": "\x00", "password": "x"}, "username"),
        ],
    )
    def test_every_json_route_refuses_it(self, client, admin_client, route, body, path):
        caller = admin_client if route.startswith("/v1/users") else client
        answer = envelope(send(caller, route, json.dumps(body).encode()), 400, "invalid_text")
        assert paths(answer) == [path]

    def test_nul_in_the_query_string_names_each_parameter(self, client):
        answer = envelope(client.get("/v1/datasets?name=%00&is_public=true&na%00me=x"), 400, "invalid_text")
        assert paths(answer) == ["query.name", "query.na\\u0000me"]

    def test_nul_in_the_path_is_400(self, admin_client):
        admin_client.raise_request_exception = False
        for url in ("/v1/users/a%00b", "/v1/teams/1/permissions/%00", "/v1/datasets/1/files/a%00.png"):
            assert paths(envelope(admin_client.get(url), 400, "invalid_text")) == ["path"], url

    def test_nul_in_a_form_field_names_it(self, admin_client):
        body = b"username=a%00b&password=long-enough-pw"
        response = send(admin_client, "/v1/users/create", body, content_type="application/x-www-form-urlencoded")
        assert paths(envelope(response, 400, "invalid_text")) == ["username"]

    def test_nul_in_a_multipart_field_names_it(self, admin_client):
        body = b'--b\r\nContent-Disposition: form-data; name="username"\r\n\r\na\x00b\r\n--b--\r\n'
        response = send(admin_client, "/v1/users/create", body, content_type="multipart/form-data; boundary=b")
        assert paths(envelope(response, 400, "invalid_text")) == ["username"]

    def test_a_hundred_problems_at_most_are_listed(self, client):
        body = json.dumps({"expressions": [{"value": "\x00"}] * 500}).encode()
        answer = envelope(send(client, "/v1/datasets/list", body), 400, "invalid_text")
        assert len(answer["errors"]) == 100 and "(and 99 more)" in answer["detail"]


# --- JSON nesting -----------------------------------------------------------------------------------


class TestJSONDepth:
    @pytest.mark.parametrize("depth", [65, 1000, 100_000])
    @pytest.mark.parametrize("route", ["/v1/datasets/list", "/v1/users/create", "/v1/auth/obtain"])
    def test_json_nested_past_the_limit_is_400_naming_it(self, admin_client, route, depth):
        answer = envelope(send(admin_client, route, nested(depth)), 400, "json_too_deep")
        assert answer["limit"] == 64 and "REQUEST_JSON_MAX_DEPTH" in answer["detail"]

    def test_objects_count_like_arrays(self, client):
        body = b'{"a":' * 70 + b"1" + b"}" * 70
        envelope(send(client, "/v1/datasets/list", body), 400, "json_too_deep")

    def test_json_at_the_limit_reaches_the_view(self, client):
        body = b'{"expressions": ' + nested(63) + b"}"
        response = send(client, "/v1/datasets/list", body)
        assert response.status_code == 400 and response.json()["code"] == "invalid_filter_spec", response.content

    def test_brackets_inside_strings_do_not_count(self, client):
        value = '\\"[[[[' * 100 + "{" * 100
        body = json.dumps({"expressions": [{"type": "exact", "field": "name", "value": value}]}).encode()
        response = send(client, "/v1/datasets/list", body)
        assert response.status_code == 200, response.content


# --- digits that are not ASCII ------------------------------------------------------------------------


class TestNonASCIIDigits:
    def test_a_superscript_user_pk_is_404(self, admin_client):
        envelope(admin_client.get("/v1/users/³²"), 404, "not_found")  # "³²".isdigit() is true

    def test_a_superscript_key_in_an_error_is_not_a_500(self, admin_client):
        team = TeamFactory()
        admin_client.raise_request_exception = False
        body = {"method": "add", "username": "root", "³²": 1}  # an unknown key, named in the 400
        response = admin_client.patch(f"/v1/teams/{team.pk}/memberships", body, format="json")
        assert paths(envelope(response, 400, "invalid")) == ["³²"]
