"""The registry binding server-resident type names to models: filters, names, visibility, row values.

A binding says, for one type name (``Dataset``), which model holds its rows, how the type's
``row_filters`` keys become ORM lookups, how a row is named (for ``Name<…>``), which rows a user may
see, and how a row is written as a JSON value. A new server-resident type is one
``register_resident(ResidentBinding(...))`` call.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, NamedTuple, Protocol

from django.apps import apps
from django.db.models import Field, Model, Q, QuerySet

from contracts.types import TYPE_CLASSES, NamedType, Type, row_filters

Visibility = Callable[[QuerySet, Any], QuerySet]
"""``(rows, user) -> the rows user may see``; called only for an authenticated user."""

RowValue = Callable[[Model], dict[str, Any]]
"""A row as the JSON value of its row type: each of the type class's ``row_fields`` and no other key, in
UFDL's shapes, so the value is valid for its type (plain JSON: no secrets, datetimes as ISO strings).
``JobOutput``'s rows are listed the same way, though its values are pks."""


class RowMismatch(NamedTuple):
    """Why a visible row does not fit a type, when the binding reports that with its own code."""

    code: str
    message: str


class NameRule(Protocol):
    """How the rows of a named type are named (what ``Name<…>`` values are)."""

    @property
    def fields(self) -> tuple[str, ...]:
        """The row fields a name is made of."""

    def format(self, values: Mapping[str, Any]) -> str:
        """The name of a row, from its ``fields``."""

    def lookup(self, names: Collection[str]) -> Q:
        """A condition selecting at least every row named one of ``names`` (callers keep the rows whose
        ``format`` is exactly a requested name); flat ``IN`` lists, so many names stay one small query."""


def any_of(conditions: Iterable[Q]) -> Q:
    """One flat OR of ``conditions`` (chained ``|`` nests); no conditions select nothing."""
    conditions = list(conditions)
    return Q(*conditions, _connector=Q.OR) if conditions else Q(pk__in=[])


@dataclass(frozen=True)
class FieldName:
    """The name is one field (a domain's description, a hardware generation)."""

    field: str

    @property
    def fields(self) -> tuple[str, ...]:
        return (self.field,)

    def format(self, values: Mapping[str, Any]) -> str:
        return str(values[self.field])

    def lookup(self, names: Collection[str]) -> Q:
        return Q(**{f"{self.field}__in": list(names)})


@dataclass(frozen=True)
class NameAndVersion:
    """The name is ``"<name> v<version>"`` (datasets, docker images)."""

    name_field: str = "name"
    version_field: str = "version"
    integer_version: bool = False

    @property
    def fields(self) -> tuple[str, ...]:
        return (self.name_field, self.version_field)

    def format(self, values: Mapping[str, Any]) -> str:
        return f"{values[self.name_field]} v{values[self.version_field]}"

    def lookup(self, names: Collection[str]) -> Q:
        # Either part may itself contain " v" ("a v1 v2" is "a v1" v2 or "a" v"1 v2"), so every split
        # is a candidate. Bases and versions are matched as two lists (a superset of the pairs, which
        # the caller narrows by the exact name) because an OR per pair grows the SQL expression tree
        # past what SQLite accepts.
        bases: set[str] = set()
        versions: set[Any] = set()
        for name in names:
            start = name.find(" v")
            while start != -1:
                base, version = name[:start], name[start + 2 :]
                typed_version = self._typed_version(version)
                if base and typed_version is not None:
                    bases.add(base)
                    versions.add(typed_version)
                start = name.find(" v", start + 1)
        if not bases:
            return Q(pk__in=[])
        return Q(**{f"{self.name_field}__in": sorted(bases), f"{self.version_field}__in": sorted(versions)})

    def _typed_version(self, version: str) -> Any:
        if not version:
            return None
        if not self.integer_version:
            return version
        # ASCII digits only ("²".isdigit() is true), and within a 32-bit column's range.
        if not (version.isascii() and version.isdigit()) or len(version) > 10 or int(version) > 2**31 - 1:
            return None
        return int(version)


@dataclass(frozen=True, eq=False)
class ResidentBinding:
    """Where the rows of one server-resident type name live and how they are filtered, named and shown.

    ``filter_lookups`` maps each key ``row_filters`` can produce for this type (``domain.description``)
    to an ORM lookup. ``visible`` is None when every authenticated user sees every row. ``narrow``
    replaces ``filter_lookups`` when the type's rule is not a field filter (``JobOutput``'s subtype
    rule); ``row_mismatch`` lets value checks report a visible row that does not fit with a code of
    its own (instead of ``not_found``). ``related``/``prefetch`` are the joins ``row_value`` reads.
    """

    type_name: str
    model_label: str
    resource: str
    noun: str
    row_value: RowValue
    filter_lookups: Mapping[str, str] = field(default_factory=dict)
    name_rule: NameRule | None = None
    visible: Visibility | None = None
    narrow: Callable[[QuerySet, NamedType], QuerySet] | None = None
    row_mismatch: Callable[[Model, NamedType], RowMismatch | None] | None = None
    related: tuple[str, ...] = ()
    prefetch: tuple[str, ...] = ()

    @cached_property
    def model(self) -> type[Model]:
        return apps.get_model(self.model_label)

    @cached_property
    def soft_deletable(self) -> bool:
        return any(f.name == "deletion_time" for f in self.model._meta.concrete_fields)

    def rows(self) -> QuerySet:
        """Every active row (soft-deleted rows are never valid values), with the joins values read."""
        queryset = self.model._default_manager.select_related(*self.related)
        if self.soft_deletable:
            queryset = queryset.filter(deletion_time__isnull=True)
        return queryset.order_by("pk")

    def visible_to(self, queryset: QuerySet, user: Any) -> QuerySet:
        """The rows of ``queryset`` that ``user`` may see; ``user=None`` means no restriction."""
        if user is None:
            return queryset
        if not getattr(user, "is_authenticated", False):
            return queryset.none()
        return queryset if self.visible is None else self.visible(queryset, user)

    def matching(self, queryset: QuerySet, type_: NamedType) -> QuerySet:
        """The rows of ``queryset`` that are values of ``type_`` (its filters, or ``narrow``)."""
        if self.narrow is not None:
            return self.narrow(queryset, type_)
        lookups = {}
        for key, value in row_filters(type_).items():
            if key not in self.filter_lookups:
                # A declaration mistake (a type parameter without a lookup), not the caller's.
                raise LookupError(f"resident binding {self.type_name!r} has no lookup for filter {key!r}")
            lookups[self.filter_lookups[key]] = value
        return queryset.filter(**lookups)

    def with_values(self, queryset: QuerySet) -> QuerySet:
        """``queryset`` ready for ``row_value`` on every row without further queries."""
        return queryset.prefetch_related(*self.prefetch) if self.prefetch else queryset

    @cached_property
    def longest_name(self) -> int:
        """No row's name is longer (the name fields' lengths plus separators): longer names match nothing."""
        assert self.name_rule is not None
        fields = [self.model._meta.get_field(name) for name in self.name_rule.fields]
        return sum((field.max_length if isinstance(field, Field) else None) or 20 for field in fields) + 2 * (
            len(fields) - 1
        )

    def name_of(self, row: Model) -> str:
        assert self.name_rule is not None
        return self.name_rule.format({name: getattr(row, name) for name in self.name_rule.fields})


class NoResidentBinding(LookupError):
    """The type has no binding: it is not server-resident, or abstract (``ServerResidentType``)."""

    def __init__(self, type_: Type | str) -> None:
        self.type = type_
        super().__init__(f"{type_} is not a concrete server-resident type")


_BINDINGS: dict[str, ResidentBinding] = {}


def register_resident(binding: ResidentBinding, *, replace: bool = False) -> ResidentBinding:
    """Add a binding for a registered, non-abstract server-resident type name.

    Named types (deriving from ``NamedServerType``) must say how rows are named. Registering a name
    twice is an error unless ``replace`` (used to make app-level registrations idempotent).
    """
    name = binding.type_name
    type_class = TYPE_CLASSES.get(name)
    if type_class is None or type_class.abstract or "ServerResidentType" not in type_class.ancestors:
        raise ValueError(f"{name!r} is not a registered, concrete server-resident type")
    if "NamedServerType" in type_class.ancestors and binding.name_rule is None:
        raise ValueError(f"{name!r} is a named server type: its binding needs a name_rule")
    if name in _BINDINGS and not replace:
        raise ValueError(f"{name!r} already has a resident binding")
    _BINDINGS[name] = binding
    return binding


def binding_for(type_name: str) -> ResidentBinding:
    """The binding of a type name; raises ``NoResidentBinding`` when there is none."""
    binding = _BINDINGS.get(type_name)
    if binding is None:
        raise NoResidentBinding(type_name)
    return binding


def has_binding(type_name: str) -> bool:
    return type_name in _BINDINGS


def bound_type_names() -> Iterable[str]:
    """The type names with a binding, in registration order."""
    return tuple(_BINDINGS)
