"""The server-resident binding: type names bound to models, and values checked against visible rows.

The pure type language (``contracts.types``) knows types; this package knows where their rows are.
``register_resident`` binds a type name to a model (filters, name rule, visibility, row value);
``rows_of_type``, ``value_problems`` (``values_check`` for many values at once), ``resolve_value`` and
``schema_for`` answer questions about a type for one user. The catalogue's types are bound here;
``Dataset`` by the workspaces app (``workspaces.resident``) and ``JobOutput`` by the jobtemplates app
(``jobtemplates.resident``).
"""

from contracts.resident.bindings import (
    FieldName,
    NameAndVersion,
    NameRule,
    NoResidentBinding,
    ResidentBinding,
    RowMismatch,
    any_of,
    binding_for,
    bound_type_names,
    has_binding,
    register_resident,
)
from contracts.resident.catalogue import register_catalogue_bindings
from contracts.resident.rows import ResidentTarget, iso_time, resident_target, row_values, rows_of_type
from contracts.resident.schemas import REF_KEY, VisibleEnums, schema_for
from contracts.resident.values import CheckedValue, resolve_value, value_problems, values_check

register_catalogue_bindings()

__all__ = [
    "REF_KEY",
    "CheckedValue",
    "FieldName",
    "NameAndVersion",
    "NameRule",
    "NoResidentBinding",
    "ResidentBinding",
    "ResidentTarget",
    "RowMismatch",
    "VisibleEnums",
    "any_of",
    "binding_for",
    "bound_type_names",
    "has_binding",
    "iso_time",
    "register_catalogue_bindings",
    "register_resident",
    "resident_target",
    "resolve_value",
    "row_values",
    "rows_of_type",
    "schema_for",
    "value_problems",
    "values_check",
]
