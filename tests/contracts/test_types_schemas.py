"""JSON schemas beyond UFDL's vectors (rows, references, resolvers) and value validation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft7Validator

from contracts.types import (
    TYPE_CLASSES,
    SchemaResolver,
    TypeClass,
    TypeParameter,
    ValueProblem,
    bare_type,
    is_abstract,
    is_reference_type,
    is_server_resident,
    json_schema,
    parse_type,
    validate_value,
)
from contracts.types.model import RowField
from contracts.types.validation import _validator_for

IC = "Domain<'Image Classification'>"
TF = "Framework<'tensorflow', '1.14'>"
TF_IMAGE = f"DockerImage<{IC}, {TF}>"
PK_SCHEMA = {"type": "integer", "minimum": 1}
# A PK/JobOutput value: ours bound it to bigint (row objects keep UFDL's pk schema).
REFERENCE_SCHEMA = {"type": "integer", "minimum": 1, "maximum": 2**63 - 1}
UFDL_015 = Path(__file__).parents[1] / "jobtemplates" / "golden" / "ufdl" / "015_get_all_parameters_tf.json"
ROW_TYPES = ["CUDAVersion", "Dataset", "DockerImage", "Domain", "Framework", "Hardware", "PretrainedModel"]

FRAMEWORK_SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 64},
        "version": {"const": "1.14"},
        "pk": PK_SCHEMA,
    },
    "required": ["name", "version"],
    "additionalProperties": False,
}


def nullable(schema):
    return {"oneOf": [schema, {"const": None}]}


def ufdl_docker_image_schema() -> dict:
    """UFDL's schema for the tensorflow image type (reference 015), without ``registry_password``:
    secrets are never part of our rows, so ours leaves the property out altogether."""
    reference = json.loads(UFDL_015.read_text(encoding="utf-8"))["response"]["json"]
    schema = reference["docker_image"]["types"][TF_IMAGE]
    del schema["properties"]["registry_password"]
    return schema


@pytest.mark.parametrize("text", ["Model", f"Model<{IC}, {TF}>", "BLOB<'x'>", "Compressed<JSON, 9>", "UFDLType"])
def test_binary_and_root_types_have_no_schema(text):
    assert json_schema(parse_type(text)) is None


@pytest.mark.parametrize("text", ["UFDLJSONType", "FiniteJSONType", "ServerResidentType", "NamedServerType"])
def test_abstract_json_bases_accept_any_json(text):
    assert json_schema(parse_type(text)) == json_schema(parse_type("JSON"))


@pytest.mark.parametrize(
    ("text", "schema"),
    [
        (f"PK<Dataset<{IC}>>", REFERENCE_SCHEMA),
        (f"JobOutput<Model<{IC}, {TF}>>", REFERENCE_SCHEMA),
        (f"Name<Dataset<{IC}>>", {"type": "string"}),
        (
            f"Array<PK<Dataset<{IC}>>, 2>",
            {"type": "array", "items": REFERENCE_SCHEMA, "definitions": {}, "minItems": 2, "maxItems": 2},
        ),
    ],
)
def test_reference_schemas_without_resolver(text, schema):
    assert json_schema(parse_type(text)) == schema


class TestRowSchemas:
    """Row types: the object of their row, fields as UFDL writes them, arguments fixing fields as consts."""

    def test_docker_image_is_ufdls_015_but_for_the_registry_password(self):
        schema = json_schema(parse_type(TF_IMAGE))
        assert schema == ufdl_docker_image_schema()
        # Key order too: UFDL lists required properties first, then optional ones, each by name.
        assert json.dumps(schema) == json.dumps(ufdl_docker_image_schema())
        assert "registry_password" not in json.dumps(schema)

    @pytest.mark.parametrize(
        ("text", "schema"),
        [
            (
                IC,
                {
                    "type": "object",
                    "properties": {
                        "description": {"const": "Image Classification"},
                        "name": {"type": "string", "maxLength": 2},
                        "pk": PK_SCHEMA,
                    },
                    "definitions": {},
                    "required": ["description", "name"],
                    "additionalProperties": False,
                },
            ),
            ("Framework<str, '1.14'>", {**FRAMEWORK_SCHEMA, "definitions": {}}),
            (
                "Hardware",
                {
                    "type": "object",
                    "properties": {
                        "generation": {"type": "string"},
                        "max_compute_capability": {"type": "number"},
                        "min_compute_capability": {"type": "number"},
                        "pk": PK_SCHEMA,
                    },
                    "definitions": {},
                    "required": ["generation", "max_compute_capability", "min_compute_capability"],
                    "additionalProperties": False,
                },
            ),
            (
                "CUDAVersion",
                {
                    "type": "object",
                    "properties": {
                        "full_version": {"type": "string", "maxLength": 16},
                        "min_driver_version": {"type": "string", "maxLength": 16},
                        "version": {"type": "string"},
                        "pk": PK_SCHEMA,
                    },
                    "definitions": {},
                    "required": ["full_version", "min_driver_version", "version"],
                    "additionalProperties": False,
                },
            ),
            (
                f"Dataset<{IC}>",
                {
                    "type": "object",
                    "properties": {
                        "domain": {"const": "Image Classification"},
                        "name": {"type": "string"},
                        "pk": PK_SCHEMA,
                        "version": PK_SCHEMA,
                        "creation_time": {"type": "string"},
                        "creator": nullable(PK_SCHEMA),
                        "deletion_time": nullable({"type": "string"}),
                        "description": {"type": "string"},
                        "is_public": {"type": "boolean"},
                        "licence": PK_SCHEMA,
                        "previous_version": {"type": "integer", "minimum": -1},
                        "project": nullable(PK_SCHEMA),
                        "tags": {"type": "string"},
                    },
                    "definitions": {},
                    "required": ["domain", "name", "pk", "version"],
                    "additionalProperties": False,
                },
            ),
        ],
    )
    def test_row_schemas(self, text, schema):
        assert json_schema(parse_type(text)) == schema

    def test_pretrained_model_metadata_is_any_json_object(self):
        schema = json_schema(parse_type(f"PretrainedModel<Domain, {TF}>"))
        assert schema["required"] == ["domain", "framework", "licence", "url"]
        assert schema["properties"]["domain"] == {"type": "string", "maxLength": 64}
        assert schema["properties"]["framework"]["properties"]["name"] == {"const": "tensorflow"}
        assert schema["properties"]["metadata"] == {
            "type": "object",
            "properties": {},
            "additionalProperties": {"$ref": "#/definitions/is-json"},
        }
        assert set(schema["definitions"]) == {"is-json"}

    def test_unconstrained_arguments_keep_the_field_schema(self):
        schema = json_schema(parse_type("DockerImage"))
        assert schema["properties"]["domain"] == {"type": "string", "maxLength": 64}
        assert schema["properties"]["framework"] == {
            **FRAMEWORK_SCHEMA,
            "properties": {**FRAMEWORK_SCHEMA["properties"], "version": {"type": "string", "maxLength": 32}},
        }

    def test_nested_rows_leave_definitions_to_the_top(self):
        schema = json_schema(parse_type(f"Array<PretrainedModel<{IC}, {TF}>>"))
        assert set(schema["definitions"]) == {"is-json"}
        assert "definitions" not in schema["items"]
        assert schema["items"]["properties"]["domain"] == {"const": "Image Classification"}

    @pytest.mark.parametrize("name", ROW_TYPES)
    def test_every_row_schema_is_a_valid_draft7_schema(self, name):
        Draft7Validator.check_schema(json_schema(bare_type(TYPE_CLASSES[name])))

    def test_the_concrete_row_types_are_the_ones_with_row_fields(self):
        with_fields = {name for name, type_class in TYPE_CLASSES.items() if type_class.row_fields}
        concrete_rows = {
            name
            for name, type_class in TYPE_CLASSES.items()
            if is_server_resident(bare_type(type_class))
            and not is_abstract(bare_type(type_class))
            and not is_reference_type(bare_type(type_class))
        }
        assert with_fields == concrete_rows == set(ROW_TYPES)

    @pytest.mark.parametrize("name", ROW_TYPES)
    def test_row_field_declarations_resolve(self, name):
        for field in TYPE_CLASSES[name].row_fields:
            if field.type is None:
                continue
            field_type = parse_type(field.type)
            if field.attribute is not None:
                assert field_type.type_class.row_field(field.attribute)

    def test_declarations_are_checked(self):
        with pytest.raises(ValueError, match="type or a schema"):
            RowField("x")
        with pytest.raises(ValueError, match="type or a schema"):
            RowField("x", "str", schema={"type": "string"})
        with pytest.raises(ValueError, match="attribute"):
            RowField("x", schema={"type": "string"}, attribute="description")
        with pytest.raises(ValueError, match="undeclared row field"):
            TypeClass("Row", "x.Row", parameters=(TypeParameter("a", "str", row_field="a"),))
        with pytest.raises(ValueError, match="twice"):
            TypeClass("Row", "x.Row", row_fields=(RowField("a", "str"), RowField("a", "int")))
        with pytest.raises(KeyError):
            TYPE_CLASSES["Domain"].row_field("nope")


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
    assert json_schema(parse_type("JobOutput<Model>"), resolver=rows) == REFERENCE_SCHEMA


def test_resolver_reaches_nested_references():
    rows = _Rows()
    schema = json_schema(parse_type(f"Map<Array<PK<Dataset<{IC}>>>>"), resolver=rows)
    assert schema["additionalProperties"] == {"type": "array", "items": {"enum": [5, 6]}}
    assert rows.asked == [f"PK<Dataset<{IC}>>"]


def test_resolver_callable_and_row_types():
    asked = []

    def resolver(type_):
        asked.append(str(type_))
        return [7] if type_.name == "PK" else None

    assert json_schema(parse_type(f"PK<{IC}>"), resolver=resolver) == {"enum": [7]}
    assert json_schema(parse_type("str"), resolver=resolver) == {"type": "string"}
    # Row types are never listed: their schema is their row's object schema (spec §2, UFDL 015).
    assert json_schema(parse_type(IC), resolver=resolver) == json_schema(parse_type(IC))
    assert asked == [f"PK<{IC}>"]


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
    (IC, {"pk": 1, "name": "ic", "description": "Image Classification"}, []),
    (IC, {"name": "ic", "description": "Image Classification"}, []),
    (IC, {"pk": 1, "name": "ic", "description": "Object Detection"}, [("description", "const")]),
    (IC, {"pk": 1, "name": "icx", "description": "Image Classification"}, [("name", "maxLength")]),
    (IC, {"pk": 1, "name": "ic", "description": "Image Classification", "x": 1}, [("", "additionalProperties")]),
    (f"Dataset<{IC}>", {"pk": 3, "name": "d", "version": 1, "domain": "Image Classification"}, []),
    (
        f"Dataset<{IC}>",
        {"pk": 3, "name": "d", "version": 1, "domain": {"description": "Image Classification"}},
        [("domain", "const")],
    ),
    (f"Dataset<{IC}>", {"pk": 3}, [("", "required")] * 3),
    (f"Dataset<{IC}>", {"pk": 3, "name": "d", "version": 1, "domain": "Image Classification", "project": None}, []),
    (
        f"Dataset<{IC}>",
        {"pk": 3, "name": "d", "version": 0, "domain": "Image Classification", "files": []},
        [("", "additionalProperties"), ("version", "minimum")],
    ),
    (
        "Framework<str, '1.14'>",
        {"name": "tensorflow", "version": "1.15"},
        [("version", "const")],
    ),
    (
        TF_IMAGE,
        {
            "cpu": True,
            "cuda_version": {"version": "0.0", "full_version": "0.0", "min_driver_version": "0.0"},
            "domain": "Image Classification",
            "framework": {"name": "tensorflow", "version": "1.14"},
            "min_hardware_generation": None,
            "registry_url": "r",
            "tasks": ["Train"],
            "url": "u",
        },
        [],
    ),
    (
        TF_IMAGE,
        {
            "cpu": True,
            "cuda_version": None,
            "domain": "Image Classification",
            "framework": {"name": "tensorflow", "version": "1.14"},
            "min_hardware_generation": None,
            "registry_url": "r",
            "registry_password": "secret",
            "tasks": ["Train"],
            "url": "u",
        },
        [("", "additionalProperties"), ("cuda_version", "type")],
    ),
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
