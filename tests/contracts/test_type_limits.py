"""Bounded type strings (issue 12): TYPE_STRING_MAX_CHARS and TYPE_MAX_DEPTH, a clean parse error
(never a RecursionError) in the pure core and a 400 naming the path wherever a client's string enters.
"""

from __future__ import annotations

import pytest

from contracts.contracts import ContractParseError, parse_contract
from contracts.types import TypeParseError, parse_type
from contracts.types.limits import LIMITS, configure
from contracts.types.validation import validate_value

IC = "Domain<'Image Classification'>"


def nested(depth: int, head: str = "Array") -> str:
    return f"{head}<" * depth + "str" + ">" * depth


@pytest.fixture
def tight_limits():
    saved = (LIMITS.max_chars, LIMITS.max_depth)
    configure(max_chars=100, max_depth=3)
    yield
    configure(max_chars=saved[0], max_depth=saved[1])


class TestPureCore:
    def test_defaults_fit_every_real_type(self):
        assert (LIMITS.max_chars, LIMITS.max_depth) == (4096, 32)
        # UFDL's deepest real type nests 4 levels.
        assert str(parse_type(f"Array<Name<PretrainedModel<{IC}, Framework<'tensorflow', '1.14'>>>, 2>"))

    def test_depth_at_the_limit_parses_and_past_it_is_a_parse_error(self):
        assert str(parse_type(nested(32))).count("Array<") == 32
        with pytest.raises(TypeParseError) as raised:
            parse_type(nested(33))
        assert raised.value.reason == "too_deep"
        assert "TYPE_MAX_DEPTH" in raised.value.cause
        assert raised.value.position == 32 * len("Array<") + len("Array")  # the 33rd '<'

    @pytest.mark.parametrize("depth", [600, 1000, 1300])
    def test_deep_nesting_never_recurses_far(self, depth):
        text = "Map<" * depth  # unclosed too: the depth check comes first
        with pytest.raises(TypeParseError) as raised:
            parse_type(text)
        assert raised.value.reason in {"too_deep", "too_long"}

    def test_too_long_is_refused_before_tokenizing_and_not_echoed(self):
        text = "'" + "x" * 5_000_000 + "'"
        with pytest.raises(TypeParseError) as raised:
            parse_type(text)
        error = raised.value
        assert error.reason == "too_long"
        assert error.text == text  # the attribute keeps the input exactly
        assert len(str(error)) < 300  # the message shows its head only
        assert "TYPE_STRING_MAX_CHARS" in str(error)

    def test_contract_strings_share_the_limits(self):
        with pytest.raises(ContractParseError) as raised:
            parse_contract(f"Train<{nested(40, 'Domain')}, Framework<'a', 'b'>>")
        assert raised.value.reason == "too_deep"

    def test_configure_applies_to_the_next_parse(self, tight_limits):
        parse_type("Array<Array<Array<str>>>")
        with pytest.raises(TypeParseError, match="TYPE_MAX_DEPTH"):
            parse_type("Array<Array<Array<Array<str>>>>")
        with pytest.raises(TypeParseError, match="TYPE_STRING_MAX_CHARS"):
            parse_type("'" + "y" * 100 + "'")

    def test_configure_refuses_nonsense(self):
        with pytest.raises(ValueError):
            configure(max_chars=0, max_depth=10)
        with pytest.raises(ValueError):
            configure(max_chars=10, max_depth=1000)

    def test_settings_reach_the_core(self, settings):
        from django.apps import apps

        assert (LIMITS.max_chars, LIMITS.max_depth) == (settings.TYPE_STRING_MAX_CHARS, settings.TYPE_MAX_DEPTH)
        assert apps.get_app_config("contracts")


@pytest.mark.django_db
class TestWhereClientsSendTypes:
    def test_matching_query_type_too_deep_is_a_400_naming_the_parameter(self, client):
        deep = "PK<" * 600 + f"Dataset<{IC}>" + ">" * 600  # 600 levels: a 500 before issue 12
        response = client.get(f"/v1/job-templates/get-all-matching-templates/Train?dataset={deep}")
        assert response.status_code == 400, response.content[:300]
        assert [e["path"] for e in response.json()["errors"]] == ["query.dataset"]
        assert "TYPE_MAX_DEPTH" in response.json()["errors"][0]["message"]

    def test_matching_query_type_nested_past_the_depth(self, client):
        deep = "Array<" * 40 + "str" + ">" * 40
        response = client.get(f"/v1/job-templates/get-all-matching-templates/Train?dataset={deep}")
        assert response.status_code == 400
        assert [e["path"] for e in response.json()["errors"]] == ["query.dataset"]
        assert "TYPE_MAX_DEPTH" in response.json()["errors"][0]["message"]

    def test_job_type_values_route(self, client):
        response = client.get("/v1/job-types/get-all-values/" + "Array<" * 40 + "str" + ">" * 40)
        assert response.status_code == 400
        assert [e["path"] for e in response.json()["errors"]] == ["type"]

    def test_template_import_with_a_deep_parameter_type(self, admin_client, seeded_catalogue):
        body = {
            "name": "deep",
            "licence": "Apache 2.0",
            "specific": {
                "job_type": "Export",
                "executor_class": "executors.builtin.testing.NoOp",
                "required_packages": "",
                "parameters": {"x": {"types": [nested(40), "'" + "x" * 5000 + "'"], "help": "deep"}},
            },
        }
        response = admin_client.post("/v1/job-templates/import", body, format="json")
        assert response.status_code in (400, 422), response.json()
        paths = [e["path"] for e in response.json()["errors"]]
        assert paths == ["specific.parameters.x.types[0]", "specific.parameters.x.types[1]"]


class TestNumbersAValueMayHold:
    @pytest.mark.parametrize(
        ("type_string", "value", "valid"),
        [
            ("int", 2**63 - 1, True),
            ("int", -(2**63), True),
            ("int", 2**63, False),
            ("int", 10**30, False),
            ("float", 10**300, True),
            ("float", 1.5, True),
            ("float", 10**400, False),  # JSON allows it; no double holds it
            ("float", -(10**400), False),
            ("float", True, False),
        ],
    )
    def test_bounds(self, type_string, value, valid):
        problems = validate_value(parse_type(type_string), value)
        assert (problems == []) is valid, problems
        assert all(len(problem.message) <= 301 for problem in problems)  # a 400-digit value is not echoed whole
