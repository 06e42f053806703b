"""JSON schemas of type values, shaped as UFDL puts them on the wire.

The top-level schema of an array, map, row, ``ValueType`` or any-JSON type carries
``"definitions"`` (where the recursive ``is-json`` definition lives); nested schemas refer to it.
Binary types have no schema (None). A row type (``DockerImage<…>``) is the object of its row: every
declared ``RowField``, the ones its arguments fix as ``const``s, nothing else (UFDL's answer, spec
§2). Which rows exist is not known here: pass a ``resolver`` to fill in ``{"enum": [...]}`` for
references (pks for ``PK``/``JobOutput``, names for ``Name``); without one they keep the bare JSON
type.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from contracts.types.model import LiteralType, NamedType, RowField, SchemaContext, Type
from contracts.types.parser import parse_type

Schema = dict[str, Any]

IS_JSON = "is-json"

INT_MIN = -(2**63)
INT_MAX = 2**63 - 1
"""What an ``int`` value (and a row's pk) may be: PostgreSQL's bigint, which executors' int64s hold too."""
_IS_JSON_REF = f"#/definitions/{IS_JSON}"


@runtime_checkable
class SchemaResolver(Protocol):
    """Supplies the values a server-resident or reference type can take, when the server knows them."""

    def enum(self, type_: NamedType) -> list[Any] | None:
        """The allowed JSON values of ``type_`` (e.g. visible pks for a ``PK``), or None if unknown."""


Resolver = SchemaResolver | Callable[[NamedType], list[Any] | None]


class _SchemaCall:
    """State of one ``json_schema`` call (the ``SchemaContext`` builders get): the shared definitions, the
    resolver, how deep we are."""

    __slots__ = ("definitions", "resolver", "depth")

    def __init__(self, resolver: Resolver | None) -> None:
        self.definitions: Schema = {}
        self.resolver = resolver
        self.depth = 0

    @property
    def at_top(self) -> bool:
        return self.depth == 0

    def nested(self, type_: Type) -> Schema | None:
        """The schema of a type inside the one being built (no ``definitions`` of its own)."""
        self.depth += 1
        try:
            return _schema_of(type_, self)
        finally:
            self.depth -= 1

    def resolved_enum(self, type_: NamedType) -> list[Any] | None:
        resolver = self.resolver
        if resolver is None:
            return None
        if isinstance(resolver, SchemaResolver):
            return resolver.enum(type_)
        return resolver(type_)

    def any_json_reference(self) -> Schema:
        self.definitions[IS_JSON] = _is_json_definition()
        return {"$ref": _IS_JSON_REF}


def json_schema(type_: Type, *, resolver: Resolver | None = None) -> Schema | None:
    """The JSON schema of the values of ``type_``; None for types whose values are not JSON."""
    return _schema_of(type_, _SchemaCall(resolver))


def _schema_of(type_: Type, context: SchemaContext) -> Schema | None:
    if type(type_) is LiteralType:
        return {"const": type_.value}
    assert isinstance(type_, NamedType)  # a type value that is not a literal is named
    build = type_.type_class.schema
    return None if build is None else build(type_, context)


def _is_json_definition() -> Schema:
    return {
        "anyOf": [
            {"type": "null"},
            {"type": "boolean"},
            {"type": "number"},
            {"type": "string"},
            {"type": "object", "additionalProperties": {"$ref": _IS_JSON_REF}},
            {"type": "array", "items": {"$ref": _IS_JSON_REF}},
        ]
    }


# Builders, referenced from the catalogue's declarations ------------------------------------------


def json_type_schema(json_type: str) -> Callable[[NamedType, SchemaContext], Schema]:
    """Builder for a plain JSON type: ``{"type": json_type}``."""

    def build(type_: NamedType, context: SchemaContext) -> Schema:
        return {"type": json_type}

    return build


def integer_schema(type_: NamedType, context: SchemaContext) -> Schema:
    """An integer within ``INT_MIN``..``INT_MAX`` (ours: UFDL left it unbounded)."""
    return {"type": "integer", "minimum": INT_MIN, "maximum": INT_MAX}


def any_json_schema(type_: NamedType, context: SchemaContext) -> Schema:
    """Any JSON value, through the recursive ``is-json`` definition."""
    reference = context.any_json_reference()
    if context.at_top:
        return {"definitions": context.definitions, **reference}
    return reference


def value_type_schema(type_: NamedType, context: SchemaContext) -> Schema:
    """A string, number or boolean."""
    schema: Schema = {"anyOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]}
    if context.at_top:
        schema["definitions"] = context.definitions
    return schema


def array_schema(type_: NamedType, context: SchemaContext) -> Schema:
    """An array of the element type; a literal size fixes the length."""
    at_top = context.at_top
    element, size = type_.args
    schema: Schema = {"type": "array", "items": context.nested(element)}
    if at_top:
        schema["definitions"] = context.definitions
    # The size's bound is int: a literal size is an int.
    if type(size) is LiteralType and isinstance(size.value, int):
        if size.value > 0:
            schema["minItems"] = size.value
        schema["maxItems"] = size.value
    return schema


def map_schema(type_: NamedType, context: SchemaContext) -> Schema:
    """An object whose every value is of the value type."""
    at_top = context.at_top
    values = context.nested(type_.args[0])
    schema: Schema = {"type": "object", "properties": {}}
    if at_top:
        schema["definitions"] = context.definitions
    schema["additionalProperties"] = values
    return schema


def reference_schema(json_type: str) -> Callable[[NamedType, SchemaContext], Schema]:
    """Builder for a value that points at a server row: the resolver's enum, else the bare JSON type."""

    def build(type_: NamedType, context: SchemaContext) -> Schema:
        values = context.resolved_enum(type_)
        if values is not None:
            return {"enum": values}
        if json_type == "integer":
            return {"type": "integer", "minimum": 1, "maximum": INT_MAX}
        return {"type": json_type}

    return build


def row_schema(type_: NamedType, context: SchemaContext) -> Schema:
    """A server row: an object of its declared fields, as UFDL writes it.

    Properties come required first, then optional, each group in name order (UFDL's order);
    ``additionalProperties`` is false. A literal argument fixes its field as a ``const``, a row-type
    argument gives the field that row's schema (or the schema of its ``attribute``).
    """
    at_top = context.at_top
    arguments = _arguments_by_field(type_)
    fields = sorted(type_.type_class.row_fields, key=lambda field: (not field.required, field.name))
    properties = {field.name: _field_schema(field, arguments.get(field.name), context) for field in fields}
    schema: Schema = {"type": "object", "properties": properties}
    if at_top:
        schema["definitions"] = context.definitions
    required = [field.name for field in fields if field.required]
    if required:
        schema["required"] = required
    schema["additionalProperties"] = False
    return schema


def _arguments_by_field(type_: NamedType) -> dict[str, Type]:
    return {
        parameter.row_field: argument
        for parameter, argument in zip(type_.type_class.parameters, type_.args, strict=True)
        if parameter.row_field is not None
    }


def _field_schema(field: RowField, argument: Type | None, context: SchemaContext) -> Schema:
    schema = _unwrapped_field_schema(field, argument, context)
    return {"oneOf": [schema, {"const": None}]} if field.nullable else schema


def _unwrapped_field_schema(field: RowField, argument: Type | None, context: SchemaContext) -> Schema:
    if type(argument) is LiteralType:
        return {"const": argument.value}
    if field.type is None:
        # A declared schema (UFDL's lengths and minimums); an unconstrained argument (str) keeps it.
        assert field.schema is not None  # a RowField has a type or a schema
        return copy.deepcopy(dict(field.schema))
    field_type = argument if argument is not None else parse_type(field.type)
    if field.attribute is None:
        return context.nested(field_type) or {}
    return _attribute_schema(field_type, field.attribute, context)


def _attribute_schema(row_type: Type, attribute: str, context: SchemaContext) -> Schema:
    """The schema of one field of ``row_type``'s rows (a docker image's domain: its description)."""
    if not isinstance(row_type, NamedType) or not row_type.type_class.row_fields:
        raise TypeError(f"{row_type} is not a row type: it has no field {attribute!r}")
    field = row_type.type_class.row_field(attribute)
    return _field_schema(field, _arguments_by_field(row_type).get(attribute), context)
