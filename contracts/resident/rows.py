"""Which rows a server-resident or reference type stands for, as the caller may see them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from django.db.models import QuerySet

from contracts.resident.bindings import NoResidentBinding, ResidentBinding, binding_for, has_binding
from contracts.types import TYPE_CLASSES, NamedType, Type

LookupKind = Literal["pk", "name", "row"]


@dataclass(frozen=True)
class ResidentTarget:
    """How a value of a type names a row (``lookup``) and the row type that row must be a value of.

    ``PK<X>``: by pk, rows of ``X``; ``Name<X>``: by name, rows of ``X``; ``JobOutput<T>``: by pk,
    rows of ``JobOutput<T>`` itself; a row type ``X``: the value is the row object, rows of ``X``.
    """

    lookup: LookupKind
    target: NamedType
    binding: ResidentBinding


def resident_target(type_: Type) -> ResidentTarget:
    """The target of a reference or row type; raises ``NoResidentBinding`` for any other type
    (JSON types, binary types, abstract targets such as ``PK<ServerResidentType>``)."""
    if not isinstance(type_, NamedType):  # a literal
        raise NoResidentBinding(type_)
    type_class = type_.type_class
    if type_class is TYPE_CLASSES["PK"] or type_class is TYPE_CLASSES["Name"]:
        target = type_.args[0]
        if not isinstance(target, NamedType):  # a literal
            raise NoResidentBinding(type_)
        lookup: LookupKind = "pk" if type_class is TYPE_CLASSES["PK"] else "name"
        return ResidentTarget(lookup, target, _binding_of(target, type_))
    binding = _binding_of(type_, type_)
    # JobOutput<T> is its own target, and its value is a pk (not a row object).
    return ResidentTarget("pk" if type_class.reference else "row", type_, binding)


def _binding_of(target: NamedType, declared: Type) -> ResidentBinding:
    if not has_binding(target.name):
        raise NoResidentBinding(declared)
    return binding_for(target.name)


def rows_of_type(type_: Type, *, user: Any) -> QuerySet:
    """Rows of a row type, or of the target of a ``PK``/``Name``/``JobOutput`` type, that match the
    type's filters and that ``user`` may see (``None``: no restriction), in pk order, ready to be
    written as row values."""
    target = resident_target(type_)
    binding = target.binding
    rows = binding.matching(binding.visible_to(binding.rows(), user), target.target)
    return binding.with_values(rows).order_by("pk")


def row_values(type_: Type, *, user: Any) -> list[dict[str, Any]]:
    """``rows_of_type`` written as row values (what ``/v1/job-types/get-all-values/{TYPE}`` answers)."""
    binding = resident_target(type_).binding
    return [binding.row_value(row) for row in rows_of_type(type_, user=user)]


def iso_time(value: datetime | None) -> str | None:
    """A datetime as the API writes it (ISO 8601, ``Z`` for UTC), so row values are plain JSON."""
    if value is None:
        return None
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text
