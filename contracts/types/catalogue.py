"""The 27 registered type classes of spec §2, in UFDL's ``/v1/job-types`` order.

Each declaration is the whole definition of a type: parameters with bounds, base classes, kind
flags, schema builder and UFDL's listing names. A new type is one more ``register_type_class``.
"""

from __future__ import annotations

from contracts.types.registry import TypeClass, TypeParameter, register_type_class
from contracts.types.schemas import (
    any_json_schema,
    array_schema,
    json_type_schema,
    map_schema,
    reference_schema,
    row_schema,
    value_type_schema,
)

_BASE = "ufdl.jobtypes.base"
_STANDARD = "ufdl.jobtypes.standard"


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
register_type_class(TypeClass("int", f"{_BASE}.Integer", ("ValueType",), schema=json_type_schema("integer")))
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

register_type_class(
    TypeClass("CUDAVersion", f"{_STANDARD}.server.CUDAVersion", ("NamedServerType",), schema=row_schema)
)
register_type_class(
    TypeClass(
        "Dataset",
        f"{_STANDARD}.server.Dataset",
        ("NamedServerType",),
        (TypeParameter("domain", "Domain", row_field="domain"),),
        schema=row_schema,
    )
)
register_type_class(
    TypeClass(
        "DockerImage",
        f"{_STANDARD}.server.DockerImage",
        ("NamedServerType",),
        _domain_and_framework(row_fields=True),
        schema=row_schema,
    )
)
register_type_class(
    TypeClass(
        "Domain",
        f"{_STANDARD}.server.Domain",
        ("NamedServerType",),
        (TypeParameter("description", "str", row_field="description"),),
        schema=row_schema,
    )
)
register_type_class(
    TypeClass(
        "Framework",
        f"{_STANDARD}.server.Framework",
        ("ServerResidentType",),
        (TypeParameter("name", "str", row_field="name"), TypeParameter("version", "str", row_field="version")),
        schema=row_schema,
    )
)
register_type_class(TypeClass("Hardware", f"{_STANDARD}.server.Hardware", ("NamedServerType",), schema=row_schema))
register_type_class(
    TypeClass(
        "PretrainedModel",
        f"{_STANDARD}.server.PretrainedModel",
        ("NamedServerType",),
        _domain_and_framework(row_fields=True),
        schema=row_schema,
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
