"""JSON schemas whose ``enum`` lists the caller's visible rows (http-api.md §3.5).

``PK``/``JobOutput`` types list pks and ``Name`` types names, up to ``settings.TYPE_ENUM_CAP``; past
the cap the enum is left out and ``"x-ufdl-ref": "<resource>"`` says where to look instead. Row
types (``DockerImage<…>``) are never listed: their schema is the object schema of their row, as UFDL
answered (reference 015) and types-and-contracts.md §2 says. A ``VisibleEnums`` remembers what it
listed, so one created per request and passed to every ``schema_for`` call costs one query per
distinct reference type, however often it repeats.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.conf import settings

from contracts.resident.bindings import NoResidentBinding
from contracts.resident.rows import resident_target
from contracts.types import NamedType, Type, json_schema

REF_KEY = "x-ufdl-ref"


class _OverCap(list):
    """An empty enum standing for "more rows than the cap": replaced after the schema is built."""

    def __init__(self, type_: NamedType, resource: str) -> None:
        super().__init__()
        self.type = type_
        self.resource = resource


class VisibleEnums:
    """A ``SchemaResolver`` giving the values of a reference type (``PK``, ``Name``, ``JobOutput``)
    that ``user`` may use.

    ``user=None`` lists every row. ``cap`` defaults to ``settings.TYPE_ENUM_CAP`` (read when created).
    """

    def __init__(self, *, user: Any, cap: int | None = None) -> None:
        self.user = user
        self.cap = settings.TYPE_ENUM_CAP if cap is None else cap
        self._enums: dict[NamedType, list[Any] | None] = {}

    def enum(self, type_: NamedType) -> list[Any] | None:
        if type_ not in self._enums:
            self._enums[type_] = self._list(type_)
        return self._enums[type_]

    def _list(self, type_: NamedType) -> list[Any] | None:
        try:
            target = resident_target(type_)
        except NoResidentBinding:
            return None  # an abstract target (PK<ServerResidentType>): the structural schema stands
        if target.lookup == "row":
            return None  # row types keep their object schema (json_schema does not ask for them)
        binding = target.binding
        rows = binding.matching(binding.visible_to(binding.rows(), self.user), target.target)
        limit = self.cap + 1
        if target.lookup == "pk":
            values: list[Any] = list(rows.values_list("pk", flat=True)[:limit])
            fetched = len(values)
        else:
            assert binding.name_rule is not None
            fields = binding.name_rule.fields
            names = [
                binding.name_rule.format(dict(zip(fields, row, strict=True)))
                for row in rows.values_list(*fields)[:limit]
            ]
            fetched = len(names)
            # A name shared by several visible rows is not a valid value (it would be ambiguous).
            counts = Counter(names)
            values = [name for name in names if counts[name] == 1]
        if fetched > self.cap:
            return _OverCap(type_, binding.resource)
        return values


def schema_for(type_: Type, *, user: Any, enums: VisibleEnums | None = None) -> dict[str, Any] | None:
    """The JSON schema of ``type_`` with the enums of its reference and row types listing what ``user``
    may use; None for binary types. Pass one ``enums`` per request to share its lookups."""
    if enums is None:
        enums = VisibleEnums(user=user)
    elif enums.user is not user:
        raise ValueError("schema_for: enums were made for another user")
    schema = json_schema(type_, resolver=enums)
    if schema is not None:
        _replace_over_cap(schema)
    return schema


def _replace_over_cap(node: Any) -> None:
    # json_schema has no hook for extra keys, so over-cap types come back as {"enum": _OverCap} and
    # are rewritten here into the bare schema (integer or string) plus the listing resource.
    if isinstance(node, dict):
        enum = node.get("enum")
        if isinstance(enum, _OverCap):
            node.clear()
            node.update(json_schema(enum.type) or {})
            node[REF_KEY] = enum.resource
            return
        for child in node.values():
            _replace_over_cap(child)
    elif isinstance(node, list):
        for child in node:
            _replace_over_cap(child)
