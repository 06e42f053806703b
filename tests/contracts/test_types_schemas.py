"""JSON schemas beyond UFDL's vectors (rows, references, resolvers) and value validation."""

from __future__ import annotations

import pytest

from contracts.types import SchemaResolver, ValueProblem, json_schema, parse_type, validate_value
from contracts.types.validation import _validator_for

IC = "Domain<'Image Classification'>"
TF = "Framework<'tensorflow', '1.14'>"
PK_SCHEMA = {"type": "integer", "minimum": 1}


@pytest.mark.parametrize("text", ["Model", f"Model<{IC}, {TF}>", "BLOB<'x'>", "Compressed<JSON, 9>", "UFDLType"])
def test_binary_and_root_types_have_no_schema(text):
    assert json_schema(parse_type(text)) is None


@pytest.mark.parametrize("text", ["UFDLJSONType", "FiniteJSONType", "ServerResidentType", "NamedServerType"])
def test_abstract_json_bases_accept_any_json(text):
    assert json_schema(parse_type(text)) == json_schema(parse_type("JSON"))


@pytest.mark.parametrize(
    ("text", "schema"),
    [
        (f"PK<Dataset<{IC}>>", PK_SCHEMA),
        (f"JobOutput<Model<{IC}, {TF}>>", PK_SCHEMA),
        (f"Name<Dataset<{IC}>>", {"type": "string"}),
        (
            IC,
            {
                "type": "object",
                "properties": {"pk": PK_SCHEMA, "description": {"const": "Image Classification"}},
                "required": ["description"],
            },
        ),
        (
            "Framework<str, '1.14'>",
            {
                "type": "object",
                "properties": {"pk": PK_SCHEMA, "name": {"type": "string"}, "version": {"const": "1.14"}},
                "required": ["name", "version"],
            },
        ),
        ("Hardware", {"type": "object", "properties": {"pk": PK_SCHEMA}}),
        (
            f"Dataset<{IC}>",
            {
                "type": "object",
                "properties": {
                    "pk": PK_SCHEMA,
                    "domain": {
                        "type": "object",
                        "properties": {"pk": PK_SCHEMA, "description": {"const": "Image Classification"}},
                        "required": ["description"],
                    },
                },
                "required": ["domain"],
            },
        ),
        (
            f"Array<PK<Dataset<{IC}>>, 2>",
            {"type": "array", "items": PK_SCHEMA, "definitions": {}, "minItems": 2, "maxItems": 2},
        ),
    ],
)
def test_structural_schemas_without_resolver(text, schema):
    assert json_schema(parse_type(text)) == schema


class _Rows:
    """A stand-in for the Django side: knows the pks and names of two datasets."""

    def __init__(self):
        self.asked = []

    def enum(self, type_):
        self.asked.append(str(type_))
        if type_.name == "PK":
            return [5, 6]
        if type_.name == "Name":
            return ["dogs v1", "cats v2"]
        return None


def test_resolver_object_fills_enums_like_ufdl():
    rows = _Rows()
    assert isinstance(rows, SchemaResolver)
    assert json_schema(parse_type(f"PK<Dataset<{IC}>>"), resolver=rows) == {"enum": [5, 6]}
    assert json_schema(parse_type(f"Name<Dataset<{IC}>>"), resolver=rows) == {"enum": ["dogs v1", "cats v2"]}
    # A resolver that does not know the rows leaves the structural schema.
    assert json_schema(parse_type("JobOutput<Model>"), resolver=rows) == PK_SCHEMA


def test_resolver_reaches_nested_references():
    rows = _Rows()
    schema = json_schema(parse_type(f"Map<Array<PK<Dataset<{IC}>>>>"), resolver=rows)
    assert schema["additionalProperties"] == {"type": "array", "items": {"enum": [5, 6]}}
    assert rows.asked == [f"PK<Dataset<{IC}>>"]


def test_resolver_callable_and_row_types():
    def resolver(type_):
        return [{"pk": 1, "description": "Image Classification"}] if type_.name == "Domain" else None

    assert json_schema(parse_type(IC), resolver=resolver) == {
        "enum": [{"pk": 1, "description": "Image Classification"}]
    }
    assert json_schema(parse_type("str"), resolver=resolver) == {"type": "string"}


def test_schemas_are_fresh_dicts():
    first = json_schema(parse_type("Array<JSON>"))
    first["definitions"]["is-json"]["anyOf"].clear()
    assert json_schema(parse_type("Array<JSON>"))["definitions"]["is-json"]["anyOf"]


def test_nested_json_definitions_are_hoisted_to_the_top():
    schema = json_schema(parse_type("Map<Array<Map<JSON>>>"))
    assert list(schema) == ["type", "properties", "definitions", "additionalProperties"]
    assert set(schema["definitions"]) == {"is-json"}
    assert "definitions" not in _keys_anywhere(schema["additionalProperties"])


def _keys_anywhere(node) -> set[str]:
    if isinstance(node, dict):
        return set(node).union(*(_keys_anywhere(value) for value in node.values()))
    if isinstance(node, list):
        return set().union(*(_keys_anywhere(value) for value in node))
    return set()


# (type, value, expected problems as (path, keyword))
VALIDATION_CASES = [
    ("int", 5, []),
    ("int", True, [("", "type")]),
    ("int", 1.0, [("", "type")]),
    ("float", 5, []),
    ("float", 2.5, []),
    ("float", False, [("", "type")]),
    ("bool", 0, [("", "type")]),
    ("str", "x", []),
    ("'x'", "x", []),
    ("'x'", "y", [("", "const")]),
    ("5", 5, []),
    ("5", True, [("", "const")]),
    ("@true", 1, [("", "const")]),
    ("Nothing", None, []),
    ("Nothing", 0, [("", "type")]),
    ("ValueType", "x", []),
    ("ValueType", None, [("", "anyOf")]),
    ("JSON", {"a": [1, None, {"b": True}]}, []),
    ("Array<int>", [1, 2, 3], []),
    ("Array<int>", [1, "two", 3, True], [("[1]", "type"), ("[3]", "type")]),
    ("Array<int, 2>", [1], [("", "minItems")]),
    ("Array<int, 2>", [1, 2, 3], [("", "maxItems")]),
    ("Array<str, 0>", [], []),
    ("Map<Array<int>>", {"items": [1, 2, "x"]}, [("items[2]", "type")]),
    ("Map<Map<bool>>", {"key": {"sub": 1}}, [("key.sub", "type")]),
    ("Map<int>", [], [("", "type")]),
    (f"PK<Dataset<{IC}>>", 12, []),
    (f"PK<Dataset<{IC}>>", "12", [("", "type")]),
    (f"PK<Dataset<{IC}>>", 0, [("", "minimum")]),
    (f"Name<Dataset<{IC}>>", "dogs v1", []),
    (f"Name<Dataset<{IC}>>", 3, [("", "type")]),
    ("JobOutput<Model>", 3, []),
    (IC, {"pk": 1, "description": "Image Classification"}, []),
    (IC, {"pk": 1, "description": "Object Detection"}, [("description", "const")]),
    (f"Dataset<{IC}>", {"pk": 3, "domain": {"description": "Image Classification"}}, []),
    (f"Dataset<{IC}>", {"pk": 3}, [("", "required")]),
]


@pytest.mark.parametrize(("text", "value", "problems"), VALIDATION_CASES, ids=lambda value: repr(value))
def test_validate_value(text, value, problems):
    found = validate_value(parse_type(text), value)
    assert [(problem.path, problem.keyword) for problem in found] == problems
    assert all(isinstance(problem, ValueProblem) and problem.message for problem in found)


def test_binary_values_are_a_problem_not_a_crash():
    (problem,) = validate_value(parse_type("Model"), b"bytes")
    assert (problem.path, problem.keyword) == ("", "binary")
    assert "binary" in problem.message


def test_validators_are_compiled_once_per_type():
    type_ = parse_type("Array<Map<int>, 3>")
    validate_value(type_, [])
    assert _validator_for(type_) is _validator_for(parse_type("Array<Map<int>, 3>"))
