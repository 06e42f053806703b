"""Subtyping (spec §3 examples), the slot-accept rule, the classification helpers and the registry."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

from contracts.types import (
    TYPE_CLASSES,
    TypeClass,
    TypeParameter,
    accepts,
    bare_type,
    is_abstract,
    is_binary_type,
    is_json_type,
    is_reference_type,
    is_server_resident,
    is_subtype,
    parameter_bounds,
    parse_type,
    register_type_class,
    row_filters,
    type_class_named,
)

FIXTURES = Path(os.environ.get("UFDL_FIXTURES_DIR", "/work/shared/fixtures/ufdl"))

IC = "Domain<'Image Classification'>"
TF = "Framework<'tensorflow', '1.14'>"

# (sub, sup, expected)
SUBTYPE_TABLE = [
    # spec §3
    (f"Dataset<{IC}>", "Dataset", True),
    ("Dataset", "Dataset<Domain<'X'>>", False),
    (f"PK<Dataset<{IC}>>", f"Name<Dataset<{IC}>>", False),
    ("5", "int", True),
    ("5", "float", False),
    ("Array<str, 3>", "Array<str>", True),
    (f"Model<{IC}, {TF}>", "UFDLJSONType", False),
    (f"JobOutput<Model<{IC}, {TF}>>", "JobOutput<Model>", True),
    # no int -> float widening, no bool -> int
    ("int", "float", False),
    ("@true", "int", False),
    ("@true", "bool", True),
    # literals: only themselves and their base's supertypes
    ("'x'", "'x'", True),
    ("'x'", "'y'", False),
    ("1", "1.0", False),
    ("1.0", "float", True),
    ("'x'", "ValueType", True),
    ("str", "'x'", False),
    # covariance, argument by argument
    (f"Array<Array<{IC}, 2>>", "Array<Array<Domain>>", True),
    ("Array<int, 3>", "Array<int, 5>", False),
    ("Array<int>", "Array<int, 3>", False),
    ("Map<int>", "Map<ValueType>", True),
    ("Map<ValueType>", "Map<int>", False),
    (f"PK<Dataset<{IC}>>", "PK<ServerResidentType>", True),
    (f"DockerImage<{IC}, Framework<'tensorflow', str>>", f"DockerImage<{IC}, Framework>", True),
    (f"DockerImage<{IC}, Framework>", f"DockerImage<{IC}, {TF}>", False),
    # the class hierarchy
    ("Nothing", "FiniteJSONType", True),
    ("JSON", "FiniteJSONType", False),
    ("Framework", "NamedServerType", False),
    ("Framework", "ServerResidentType", True),
    ("JobOutput<Model>", "ServerResidentType", True),
    ("BLOB", "UFDLJSONType", False),
    ("Compressed", "UFDLType", True),
]


@pytest.mark.parametrize(("sub", "sup", "expected"), SUBTYPE_TABLE, ids=lambda value: str(value))
def test_subtype_table(sub, sup, expected):
    assert is_subtype(parse_type(sub), parse_type(sup)) is expected


# (allowed types, declared type, accepted)
SLOT_CASES = [
    (["Array<str>", "str"], "Array<str, 2>", True),
    (["Array<str>", "str"], "'hello'", True),
    (["Array<str>", "str"], "int", False),
    (["int"], "5", True),
    (["float"], "5", False),
    (["float"], "int", False),
    (["bool", "Nothing"], "Nothing", True),
    ([f"PK<Dataset<{IC}>>", f"Name<Dataset<{IC}>>"], f"Name<Dataset<{IC}>>", True),
    ([f"PK<Dataset<{IC}>>"], "PK<Dataset>", False),
    ([f"JobOutput<Model<{IC}, {TF}>>"], f"JobOutput<Model<{IC}, {TF}>>", True),
    ([f"JobOutput<Model<{IC}, Framework>>"], f"JobOutput<Model<{IC}, {TF}>>", True),
    (["JSON"], "Array<str>", False),  # Array is not JSON's subclass: JSON is its own class
    (["UFDLJSONType"], "Array<str>", True),
    ([], "str", False),
]


@pytest.mark.parametrize(("allowed", "declared", "expected"), SLOT_CASES, ids=lambda value: str(value))
def test_slot_accepts(allowed, declared, expected):
    assert accepts([parse_type(text) for text in allowed], parse_type(declared)) is expected


def test_accepts_takes_any_iterable():
    assert accepts((parse_type(text) for text in ("str", "int")), parse_type("7"))


def test_meta_template_edge_rule():
    """An output of type O feeds slot S iff S accepts JobOutput<O>, or O is JSON and S accepts O itself."""
    model = parse_type(f"Model<{IC}, {TF}>")
    predict_model_slot = [parse_type(f"JobOutput<Model<{IC}, {TF}>>")]
    assert accepts(predict_model_slot, parse_type(f"JobOutput<{model}>"))
    predictions = parse_type(f"PK<Dataset<{IC}>>")
    dataset_slot = [parse_type(f"PK<Dataset<{IC}>>"), parse_type(f"Name<Dataset<{IC}>>")]
    assert is_json_type(predictions) and accepts(dataset_slot, predictions)
    assert not is_json_type(model)


ABSTRACT = ["UFDLType", "UFDLJSONType", "FiniteJSONType", "ServerResidentType", "NamedServerType", "ValueType"]


@pytest.mark.parametrize("name", ABSTRACT)
def test_abstract_classes(name):
    assert is_abstract(parse_type(name))
    assert TYPE_CLASSES[name].abstract


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("str", False),
        ("5", False),
        ("Array<str>", False),
        ("Array", True),  # = Array<UFDLJSONType, int>: an abstract argument makes the type abstract
        ("PK<ServerResidentType>", True),
        (f"PK<Dataset<{IC}>>", False),
        ("Dataset", False),
        ("JobOutput", True),
        ("JSON", False),
    ],
)
def test_is_abstract(text, expected):
    assert is_abstract(parse_type(text)) is expected


@pytest.mark.parametrize(
    ("text", "json", "binary", "resident", "reference"),
    [
        ("str", True, False, False, False),
        ("'x'", True, False, False, False),
        ("JSON", True, False, False, False),
        ("Nothing", True, False, False, False),
        ("Array<int>", True, False, False, False),
        (IC, True, False, True, False),
        (f"Dataset<{IC}>", True, False, True, False),
        (TF, True, False, True, False),
        ("Hardware", True, False, True, False),
        ("CUDAVersion", True, False, True, False),
        (f"PK<Dataset<{IC}>>", True, False, False, True),
        (f"Name<Dataset<{IC}>>", True, False, False, True),
        ("JobOutput<Model>", True, False, True, True),
        ("Model", False, True, False, False),
        ("BLOB<'image/png'>", False, True, False, False),
        ("Compressed<JSON, 9>", False, True, False, False),
        ("UFDLType", False, False, False, False),
    ],
)
def test_classification(text, json, binary, resident, reference):
    parsed = parse_type(text)
    assert (is_json_type(parsed), is_binary_type(parsed), is_server_resident(parsed), is_reference_type(parsed)) == (
        json,
        binary,
        resident,
        reference,
    )


@pytest.mark.parametrize(
    ("text", "filters"),
    [
        (IC, {"description": "Image Classification"}),
        ("Domain", {}),
        (TF, {"name": "tensorflow", "version": "1.14"}),
        ("Framework<str, '1.14'>", {"version": "1.14"}),
        (f"Dataset<{IC}>", {"domain.description": "Image Classification"}),
        (
            f"DockerImage<{IC}, {TF}>",
            {"domain.description": "Image Classification", "framework.name": "tensorflow", "framework.version": "1.14"},
        ),
        (
            f"PK<PretrainedModel<{IC}, Framework<'mm', str>>>",
            {"domain.description": "Image Classification", "framework.name": "mm"},
        ),
        (f"Name<Dataset<{IC}>>", {"domain.description": "Image Classification"}),
        ("Hardware", {}),
        (f"JobOutput<Model<{IC}, {TF}>>", {}),
    ],
)
def test_row_filters(text, filters):
    assert row_filters(parse_type(text)) == filters


def test_registry_lists_ufdl_job_types_in_order():
    with (FIXTURES / "catalogue" / "job_types.csv").open(encoding="utf-8") as rows:
        expected = [(row["name"], row["package"], row["cls"]) for row in csv.DictReader(rows)]
    assert len(expected) == 27
    assert [(name, tc.pkg, tc.cls) for name, tc in TYPE_CLASSES.items()] == expected


@pytest.mark.parametrize("name", list(TYPE_CLASSES))
def test_every_registered_name_parses_bare(name):
    type_class = TYPE_CLASSES[name]
    bare = parse_type(name)
    assert bare is bare_type(type_class)
    assert bare.args == parameter_bounds(type_class)
    assert type_class_named(name) is type_class
    assert type_class.derives_from(TYPE_CLASSES["UFDLType"])


def test_parameters_carry_name_and_bound():
    size = TYPE_CLASSES["Array"].parameters[1]
    size_bound = parameter_bounds(TYPE_CLASSES["Array"])[1]
    assert (size.name, str(size_bound), size.optional, size.minimum) == ("size", "int", True, 0)
    docker_image = TYPE_CLASSES["DockerImage"]
    bounds = parameter_bounds(docker_image)
    assert [(p.name, str(bound)) for p, bound in zip(docker_image.parameters, bounds, strict=True)] == [
        ("domain", "Domain<str>"),
        ("framework", "Framework<str, str>"),
    ]


def test_registry_is_read_only_and_checks_declarations():
    with pytest.raises(TypeError):
        TYPE_CLASSES["X"] = TYPE_CLASSES["str"]  # type: ignore[index]
    with pytest.raises(ValueError, match="already registered"):
        register_type_class(TypeClass("str", "x.String", ("ValueType",)))
    with pytest.raises(ValueError, match="does not read as a literal"):
        register_type_class(TypeClass("inf", "x.Inf", ("ValueType",)))
    with pytest.raises(ValueError, match="unregistered"):
        TypeClass("Orphan", "x.Orphan", ("NoSuchBase",))
    with pytest.raises(ValueError, match="optional parameters must come last"):
        register_type_class(
            TypeClass(
                "Backwards",
                "x.Backwards",
                ("UFDLType",),
                (TypeParameter("a", "int", optional=True), TypeParameter("b", "int")),
            )
        )
    assert "Backwards" not in TYPE_CLASSES
