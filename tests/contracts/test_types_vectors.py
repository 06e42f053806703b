"""UFDL's own answers (fixtures/ufdl/type-vectors.json) against our type language, case by case.

Every parse case, every subtype pair, every schema and every contract. Where UFDL accepted a string
by accident we reject it; ``DEPARTURES`` lists each such case with its reason, and
``test_departures_are_exactly_the_cases_that_differ`` keeps that list exact in both directions.
None of the 37 schema vectors depends on server rows, so all are compared with no resolver; ours bound
integers to PostgreSQL's bigint (``tests.int_bounds``), the one deliberate difference in schemas.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from contracts.contracts import ContractParseError, parse_contract
from contracts.types import TypeParseError, is_subtype, json_schema, parse_type
from tests.int_bounds import with_int_bounds

FIXTURES = Path(os.environ.get("UFDL_FIXTURES_DIR", "/work/shared/fixtures/ufdl"))
VECTORS = json.loads((FIXTURES / "type-vectors.json").read_text(encoding="utf-8"))

DEPARTURES: dict[str, str] = {
    "Array<str, -1>": "no array has a negative length; UFDL never checked the sign of a literal size",
    "JobOutput<5>": "a job output's content is the type it is stored as, and a literal is not such a type",
    "'a', 'b'": "UFDL strips the outer quotes of the whole string; this is two literals and a comma, not one",
    "'a'b'": "an unescaped quote ends the string, so this is 'a' followed by garbage, as it is inside <...>",
    "'": "an unterminated string; UFDL read the lone quote as both the opening and the closing one",
    "'\\'": "\\' is an escaped quote, so the string is unterminated (inside <...> UFDL says so too)",
}

# Wording UFDL uses for causes that our parser words the same way; other causes are worded our own way.
_KEPT_WORDING = re.compile(
    r"^(.+ is not a sub-type of .+|Wrong number of type arguments .+|Expected \d+ type-arguments but got \d+"
    r'|Unknown contract-name ".+"|Unknown type-name "@?[A-Za-z_]\w*")$'
)
WORDING_DIFFERS: dict[str, str] = {
    "Array<str, 3, 4>": "Array takes 1 to 2 arguments (Array<T> = Array<T, int>); UFDL said 'expected 2'",
    "Array<>": "Array takes 1 to 2 arguments (Array<T> = Array<T, int>); UFDL said 'expected 2'",
}


def _our_outcome(case: dict) -> tuple[str, str]:
    """("ok", canonical form) or ("error", message) for one parse case."""
    parse = parse_contract if case.get("parser") == "contract" else parse_type
    try:
        return "ok", str(parse(case["input"]))
    except (TypeParseError, ContractParseError) as error:
        return "error", str(error)


def _ufdl_outcome(case: dict) -> tuple[str, str]:
    return ("error", case["message"]) if case.get("error") else ("ok", case["canonical"])


def _same(ours: tuple[str, str], ufdl: tuple[str, str]) -> bool:
    # Error messages may be worded differently; rejecting is what has to agree.
    return ours[0] == ufdl[0] and (ours[0] == "error" or ours[1] == ufdl[1])


def test_vector_counts():
    assert len(VECTORS["parse"]) == 316
    assert len(VECTORS["subtype"]) == 1764
    assert len(VECTORS["schema"]) == 37
    assert len(VECTORS["contracts"]) == 16


def test_departures_are_exactly_the_cases_that_differ():
    differing = {case["input"] for case in VECTORS["parse"] if not _same(_our_outcome(case), _ufdl_outcome(case))}
    assert differing == set(DEPARTURES)


@pytest.mark.parametrize("case", VECTORS["parse"], ids=lambda case: repr(case["input"]))
def test_parse_vector(case):
    kind, result = _our_outcome(case)
    subject = "contract-string" if case.get("parser") == "contract" else "type-string"
    if case["input"] in DEPARTURES:
        assert not case.get("error"), "a departure is something UFDL accepted"
        assert kind == "error"
        assert result.startswith(f'Error parsing {subject} "{case["input"]}": ')
    elif case.get("error"):
        assert kind == "error", f"UFDL rejects {case['input']!r} but we parsed it as {result!r}"
        assert result.startswith(f'Error parsing {subject} "{case["input"]}": ')
        assert len(result) > len(f'Error parsing {subject} "{case["input"]}": ')
    else:
        assert (kind, result) == ("ok", case["canonical"])


KEPT_WORDING_CASES = [
    case for case in VECTORS["parse"] if case.get("error") and _KEPT_WORDING.match(case["message"].split('": ', 1)[1])
]


@pytest.mark.parametrize("case", KEPT_WORDING_CASES, ids=lambda case: repr(case["input"]))
def test_error_wording_matches_ufdl_where_kept(case):
    kind, message = _our_outcome(case)
    assert kind == "error"
    if case["input"] in WORDING_DIFFERS:
        assert message != case["message"]
    else:
        assert message == case["message"]


def test_wording_differences_are_kept_wording_cases():
    assert set(WORDING_DIFFERS) <= {case["input"] for case in KEPT_WORDING_CASES}


@pytest.mark.parametrize("pair", VECTORS["subtype"], ids=lambda pair: f"{pair['a']} <: {pair['b']}")
def test_subtype_vector(pair):
    assert is_subtype(parse_type(pair["a"]), parse_type(pair["b"])) is pair["result"]


@pytest.mark.parametrize("case", VECTORS["schema"], ids=lambda case: case["type"])
def test_schema_vector(case):
    ours = json_schema(parse_type(case["type"]))
    expected = with_int_bounds(case["schema"])
    assert ours == expected
    # Same key order too, so the JSON on the wire reads as UFDL's does.
    assert json.dumps(ours) == json.dumps(expected)


def test_schemas_differ_from_ufdl_only_where_an_int_is():
    differing = {case["type"] for case in VECTORS["schema"] if with_int_bounds(case["schema"]) != case["schema"]}
    assert differing == {case["type"] for case in VECTORS["schema"] if re.search(r"\bint\b", case["type"])}
    assert len(differing) == 6


@pytest.mark.parametrize("case", VECTORS["contracts"], ids=lambda case: case["contract"])
def test_contract_vector(case):
    instance = parse_contract(case["contract"])
    assert str(instance) == case["contract"]
    assert {name: str(type_) for name, type_ in instance.type_parameters().items()} == case["types"]
    assert {name: [str(type_) for type_ in types] for name, types in instance.inputs().items()} == case["inputs"]
    assert {name: str(type_) for name, type_ in instance.outputs().items()} == case["outputs"]
    assert list(instance.inputs()) == list(case["inputs"])
