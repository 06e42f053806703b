"""The type language (spec §1-3): parse, format, subtype, classify, schema and validate type values.

Pure Python (no Django). Server-resident types are bound to rows by the Django side, which passes a
resolver to ``json_schema`` and applies ``row_filters``.
"""

from contracts.types import catalogue as _catalogue  # noqa: F401  (fills the registry)
from contracts.types.classification import (
    is_abstract,
    is_binary_type,
    is_json_type,
    is_reference_type,
    is_server_resident,
)
from contracts.types.errors import TypeParseError
from contracts.types.model import (
    TYPE_CLASSES,
    LiteralType,
    LiteralValue,
    NamedType,
    Type,
    TypeClass,
    TypeParameter,
    format_type,
    literal_value,
    register_type_class,
    type_class_named,
)
from contracts.types.parser import PARSE_CACHE_SIZE, bare_type, make_literal, make_type, parameter_bounds, parse_type
from contracts.types.schemas import SchemaResolver, json_schema
from contracts.types.server_rows import row_filters
from contracts.types.subtyping import accepts, is_subtype
from contracts.types.validation import ValueProblem, validate_value

__all__ = [
    "PARSE_CACHE_SIZE",
    "TYPE_CLASSES",
    "LiteralType",
    "LiteralValue",
    "NamedType",
    "SchemaResolver",
    "Type",
    "TypeClass",
    "TypeParameter",
    "TypeParseError",
    "ValueProblem",
    "accepts",
    "bare_type",
    "format_type",
    "is_abstract",
    "is_binary_type",
    "is_json_type",
    "is_reference_type",
    "is_server_resident",
    "is_subtype",
    "json_schema",
    "literal_value",
    "make_literal",
    "make_type",
    "parameter_bounds",
    "parse_type",
    "register_type_class",
    "row_filters",
    "type_class_named",
    "validate_value",
]
