"""The 27 registered type classes of spec §2, in UFDL's ``/v1/job-types`` order.

Each declaration is the whole definition of a type: parameters with bounds, base classes, kind
flags, schema builder and UFDL's listing names. A new type is one more ``register_type_class``.
"""

from __future__ import annotations

from contracts.types.model import RowField, TypeClass, TypeParameter, register_type_class
from contracts.types.schemas import (
    any_json_schema,
    array_schema,
    integer_schema,
    json_type_schema,
    map_schema,
    reference_schema,
    row_schema,
    value_type_schema,
)

_BASE = "ufdl.jobtypes.base"
_STANDARD = "ufdl.jobtypes.standard"


_PK = RowField("pk", schema={"type": "integer", "minimum": 1})


def _text(max_length: int | None = None) -> dict[str, object]:
    return {"type": "string"} if max_length is None else {"type": "string", "maxLength": max_length}


def _domain_and_framework(*, row_fields: bool) -> tuple[TypeParameter, ...]:
    return (
        TypeParameter("domain", "Domain", row_field="domain" if row_fields else None),
        TypeParameter("framework", "Framework", row_field="framework" if row_fields else None),
    )


# Abstract bases ----------------------------------------------------------------------------------

register_type_class(TypeClass("UFDLType", f"{_BASE}.UFDLType", abstract=True))
register_type_class(
    TypeClass("UFDLJSONType", f"{_BASE}.UFDLJSONType", ("UFDLType",), abstract=True, schema=any_json_schema)
)
register_type_class(
    TypeClass("FiniteJSONType", f"{_BASE}.FiniteJSONType", ("UFDLJSONType",), abstract=True, schema=any_json_schema)
)
register_type_class(
    TypeClass(
        "ServerResidentType",
        f"{_BASE}.ServerResidentType",
        ("FiniteJSONType",),
        abstract=True,
        schema=any_json_schema,
    )
)
register_type_class(
    TypeClass(
        "NamedServerType",
        f"{_BASE}.NamedServerType",
        ("ServerResidentType",),
        abstract=True,
        schema=any_json_schema,
    )
)
register_type_class(
    TypeClass("ValueType", f"{_BASE}.ValueType", ("UFDLJSONType",), abstract=True, schema=value_type_schema)
)

# Values ------------------------------------------------------------------------------------------

register_type_class(TypeClass("str", f"{_BASE}.String", ("ValueType",), schema=json_type_schema("string")))
register_type_class(TypeClass("int", f"{_BASE}.Integer", ("ValueType",), schema=integer_schema))
register_type_class(TypeClass("float", f"{_BASE}.Float", ("ValueType",), schema=json_type_schema("number")))
register_type_class(TypeClass("bool", f"{_BASE}.Boolean", ("ValueType",), schema=json_type_schema("boolean")))

# Containers --------------------------------------------------------------------------------------

register_type_class(
    TypeClass(
        "Array",
        f"{_STANDARD}.container.Array",
        ("UFDLJSONType",),
        (
            TypeParameter("element", "UFDLJSONType"),
            # Array<T> is any length; a negative literal size could never be met (ours: rejected).
            TypeParameter("size", "int", optional=True, minimum=0),
        ),
        schema=array_schema,
    )
)
register_type_class(
    TypeClass(
        "Map",
        f"{_STANDARD}.container.Map",
        ("UFDLJSONType",),
        (TypeParameter("value", "UFDLJSONType"),),
        schema=map_schema,
    )
)

# Server-resident rows ----------------------------------------------------------------------------
#
# Row fields as UFDL's job types write a row (their value classes, from UFDL's serialisers; reference
# 015 shows a whole DockerImage schema). Departures, each because our rows must be valid values of
# their own types: string lengths follow our columns where UFDL's limit is shorter (a domain's
# description 64, not 32; a framework's name 64, not 32); fields UFDL does not know are ours, and
# optional, so UFDL-shaped values stay valid; registry_password is never part of a value (a secret).

register_type_class(
    TypeClass(
        "CUDAVersion",
        f"{_STANDARD}.server.CUDAVersion",
        ("NamedServerType",),
        schema=row_schema,
        row_fields=(
            _PK,
            RowField("version", "str", required=True),
            RowField("full_version", schema=_text(16), required=True),
            RowField("min_driver_version", schema=_text(16), required=True),
        ),
    )
)
register_type_class(
    TypeClass(
        "Dataset",
        f"{_STANDARD}.server.Dataset",
        ("NamedServerType",),
        (TypeParameter("domain", "Domain", row_field="domain"),),
        schema=row_schema,
        # UFDL names pk, name, version and domain (all required; "TODO: Remaining fields"); the rest
        # is the /v1/datasets representation, without the file list (a value names the dataset). Every
        # value has a domain: a core dataset (none) is not a value of any Dataset type.
        row_fields=(
            RowField("pk", schema={"type": "integer", "minimum": 1}, required=True),
            RowField("name", "str", required=True),
            RowField("version", schema={"type": "integer", "minimum": 1}, required=True),
            RowField("domain", "Domain", attribute="description", required=True),
            RowField("previous_version", schema={"type": "integer", "minimum": -1}),
            RowField("description", "str"),
            RowField("project", schema={"type": "integer", "minimum": 1}, nullable=True),
            RowField("licence", schema={"type": "integer", "minimum": 1}),
            RowField("is_public", "bool"),
            RowField("tags", "str"),
            RowField("creator", schema={"type": "integer", "minimum": 1}, nullable=True),
            RowField("creation_time", "str"),
            RowField("deletion_time", "str", nullable=True),
        ),
    )
)
register_type_class(
    TypeClass(
        "DockerImage",
        f"{_STANDARD}.server.DockerImage",
        ("NamedServerType",),
        _domain_and_framework(row_fields=True),
        schema=row_schema,
        row_fields=(
            _PK,
            RowField("name", "str"),
            RowField("version", "str"),
            RowField("url", "str", required=True),
            RowField("registry_url", "str", required=True),
            RowField("registry_username", "str", nullable=True),
            RowField("cuda_version", "CUDAVersion", required=True),
            RowField("framework", "Framework", required=True),
            RowField("domain", "Domain", attribute="description", required=True),
            RowField("tasks", "Array<str>", required=True),
            RowField("min_hardware_generation", "Hardware", required=True, nullable=True),
            RowField("cpu", "bool", required=True),
            RowField("licence", "str"),
        ),
    )
)
register_type_class(
    TypeClass(
        "Domain",
        f"{_STANDARD}.server.Domain",
        ("NamedServerType",),
        (TypeParameter("description", "str", row_field="description"),),
        schema=row_schema,
        row_fields=(
            _PK,
            RowField("name", schema=_text(2), required=True),
            RowField("description", schema=_text(64), required=True),
        ),
    )
)
register_type_class(
    TypeClass(
        "Framework",
        f"{_STANDARD}.server.Framework",
        ("ServerResidentType",),
        (TypeParameter("name", "str", row_field="name"), TypeParameter("version", "str", row_field="version")),
        schema=row_schema,
        row_fields=(
            _PK,
            RowField("name", schema=_text(64), required=True),
            RowField("version", schema=_text(32), required=True),
        ),
    )
)
register_type_class(
    TypeClass(
        "Hardware",
        f"{_STANDARD}.server.Hardware",
        ("NamedServerType",),
        schema=row_schema,
        row_fields=(
            _PK,
            RowField("generation", "str", required=True),
            RowField("min_compute_capability", "float", required=True),
            RowField("max_compute_capability", "float", required=True),
        ),
    )
)
register_type_class(
    TypeClass(
        "PretrainedModel",
        f"{_STANDARD}.server.PretrainedModel",
        ("NamedServerType",),
        _domain_and_framework(row_fields=True),
        schema=row_schema,
        # UFDL's metadata is a string and it adds data, creator and the times (optional, columns we do
        # not have); our metadata is a JSON object (the column's and /v1/pretrained-models' shape) and
        # source is ours.
        row_fields=(
            _PK,
            RowField("name", "str"),
            RowField("description", "str"),
            RowField("url", "str", required=True),
            RowField("source", "str"),
            RowField("framework", "Framework", required=True),
            RowField("domain", "Domain", attribute="description", required=True),
            RowField("licence", "str", required=True),
            RowField("metadata", "Map<JSON>"),
        ),
    )
)

# Utilities ---------------------------------------------------------------------------------------

register_type_class(
    TypeClass(
        "BLOB",
        f"{_STANDARD}.util.BLOB",
        ("UFDLType",),
        (TypeParameter("hint", "str"),),
        binary=True,
    )
)
register_type_class(
    TypeClass(
        "Compressed",
        f"{_STANDARD}.util.Compressed",
        ("UFDLType",),
        (TypeParameter("content", "UFDLType", literals=False), TypeParameter("level", "int")),
        binary=True,
    )
)
register_type_class(TypeClass("JSON", f"{_STANDARD}.util.JSON", ("UFDLJSONType",), schema=any_json_schema))
register_type_class(
    TypeClass("Nothing", f"{_STANDARD}.util.Nothing", ("FiniteJSONType",), schema=json_type_schema("null"))
)

# Job outputs, models and references --------------------------------------------------------------

register_type_class(
    TypeClass(
        "JobOutput",
        f"{_STANDARD}.JobOutput",
        ("ServerResidentType",),
        # The content is the type of a stored output; a literal is not a type anything is stored as.
        (TypeParameter("content", "UFDLType", literals=False),),
        reference=True,
        schema=reference_schema("integer"),
    )
)
register_type_class(
    TypeClass(
        "Model",
        f"{_STANDARD}.Model",
        ("UFDLType",),
        _domain_and_framework(row_fields=False),
        binary=True,
    )
)
register_type_class(
    TypeClass(
        "Name",
        f"{_STANDARD}.Name",
        ("FiniteJSONType",),
        (TypeParameter("target", "NamedServerType"),),
        reference=True,
        schema=reference_schema("string"),
    )
)
register_type_class(
    TypeClass(
        "PK",
        f"{_STANDARD}.PK",
        ("FiniteJSONType",),
        (TypeParameter("target", "ServerResidentType"),),
        reference=True,
        schema=reference_schema("integer"),
    )
)
