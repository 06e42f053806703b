"""JSON schemas whose ``enum`` lists the caller's visible rows (http-api.md §3.5).

``PK``/``JobOutput`` types list pks and ``Name`` types names, up to ``settings.TYPE_ENUM_CAP``; past
the cap the enum is left out and ``"x-ufdl-ref": "<resource>"`` says where to look instead. Row
types (``DockerImage<…>``) are never listed: their schema is the object schema of their row, as UFDL
answered (reference 015) and types-and-contracts.md §2 says. A ``VisibleEnums`` remembers what it
listed, so one created per request and passed to every ``schema_for`` call costs one query per
distinct reference type, however often it repeats.
"""

from __future__ import annotations

import functools
from collections import Counter
from typing import Any

from django.conf import settings
from django.db import connection

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
        self._shared_found: dict[tuple[NamedType, int], list[tuple]] = {}

    def enum(self, type_: NamedType) -> list[Any] | None:
        if type_ not in self._enums:
            self._enums[type_] = self._list(type_)
        return self._enums[type_]

    def _shared(self, target: Any, limit: int) -> list[tuple]:
        """The rows of a target every caller may use, as the lookup reads them: ``PK<X>`` and ``Name<X>``
        of one request share one statement (it reads the pk and the name fields)."""
        key = (target.target, limit)
        if key not in self._shared_found:
            self._shared_found[key] = _shared_rows(target.target, limit)
        rows = self._shared_found[key]
        return [row[:1] for row in rows] if target.lookup == "pk" else [row[1:] for row in rows]

    def _list(self, type_: NamedType) -> list[Any] | None:
        try:
            target = resident_target(type_)
        except NoResidentBinding:
            return None  # an abstract target (PK<ServerResidentType>): the structural schema stands
        if target.lookup == "row":
            return None  # row types keep their object schema (json_schema does not ask for them)
        binding = target.binding
        limit = self.cap + 1
        if binding.visible is None and (self.user is None or getattr(self.user, "is_authenticated", False)):
            # Every caller may use every row (the catalogue): the same statement for everyone.
            found = self._shared(target, limit)
        else:
            rows = binding.matching(binding.visible_to(binding.rows(), self.user), target.target)
            columns = ("pk",) if target.lookup == "pk" else binding.name_rule.fields  # type: ignore[union-attr]
            found = list(rows.values_list(*columns)[:limit])
        if target.lookup == "pk":
            values: list[Any] = [row[0] for row in found]
            fetched = len(values)
        else:
            assert binding.name_rule is not None
            fields = binding.name_rule.fields
            names = [binding.name_rule.format(dict(zip(fields, row, strict=True))) for row in found]
            fetched = len(names)
            # A name shared by several visible rows is not a valid value (it would be ambiguous).
            counts = Counter(names)
            values = [name for name in names if counts[name] == 1]
        if fetched > self.cap:
            return _OverCap(type_, binding.resource)
        return values


def _shared_rows(target: NamedType, limit: int) -> list[tuple]:
    """The first ``limit`` rows (pk, then the name fields when the type has names) of a row type whose
    rows every caller may use, by a statement compiled once per type and cap: building and compiling
    the queryset per request cost more than running it (a get-all-parameters with two such types spent
    most of its time there)."""
    sql, params = _shared_statement(target, limit)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@functools.lru_cache(maxsize=1024)
def _shared_statement(target: NamedType, limit: int) -> tuple[str, tuple]:
    binding = resident_target(target).binding
    rows = binding.matching(binding.rows(), target)
    names = binding.name_rule.fields if binding.name_rule is not None else ()
    sql, params = rows.values_list("pk", *names)[:limit].query.sql_with_params()
    return sql, tuple(params)


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
