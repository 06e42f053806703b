"""The registry of type classes: what each registered name takes, derives from and means.

A type class is declared once (see ``catalogue``) and registered by name; the parser, subtyping,
schemas and the ``/v1/job-types`` listing all read this registry, so adding a type is one
``register_type_class(TypeClass(...))`` call.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from contracts.types.values import NamedType, Type

if TYPE_CHECKING:
    from contracts.types.schemas import SchemaContext

SchemaBuilder = Callable[[NamedType, "SchemaContext"], dict[str, Any] | None]

# Words the parser reads as float literals although they are identifiers; no type may take them.
_LITERAL_IDENTIFIERS = frozenset({"inf", "infinity", "nan"})


@dataclass(frozen=True)
class TypeParameter:
    """One generic parameter of a type class: its name and the bound its argument must be a subtype of.

    ``optional``: may be left out inside ``<...>`` (trailing only); it then takes its bound, as the
    size of ``Array<str>`` does. ``literals``: whether a literal may be the argument.
    ``minimum``: the lowest integer literal allowed. ``row_field``: for server-resident types, the
    field of the server row that this argument constrains (``Domain``'s ``description``); it must be
    one of the class's ``row_fields``.
    """

    name: str
    bound_text: str
    optional: bool = False
    literals: bool = True
    minimum: int | None = None
    row_field: str | None = None

    @cached_property
    def bound(self) -> Type:
        """The bound as a type value (parsed on first use, once the catalogue is complete)."""
        from contracts.types.parser import parse_type

        return parse_type(self.bound_text)


@dataclass(frozen=True, eq=False)
class RowField:
    """One field of the row behind a server-resident type, as the type's JSON values write it.

    The shapes are UFDL's (its job types' value classes, which mirror its serialisers). A field holds
    a value of ``type`` (a type string: ``"bool"``, ``"Array<str>"``, or a row type such as
    ``"CUDAVersion"`` whose row is written as its object), or only the ``attribute`` of such a row (a
    docker image's ``domain`` is its domain's ``description``), or a value ``schema`` describes where
    UFDL's schema says more than a type can (``maxLength``). A parameter whose ``row_field`` names the
    field fixes it: a literal argument makes it a ``const``, a row-type argument
    (``Framework<'tensorflow', '1.14'>``) takes the place of ``type``. ``required`` follows UFDL;
    ``nullable`` adds ``null`` the way UFDL writes it (``oneOf`` with ``{"const": null}``).
    """

    name: str
    type: str | None = None
    schema: Mapping[str, Any] | None = None
    attribute: str | None = None
    required: bool = False
    nullable: bool = False

    def __post_init__(self) -> None:
        if (self.type is None) == (self.schema is None):
            raise ValueError(f"row field {self.name!r}: give a type or a schema (one of them)")
        if self.attribute is not None and self.type is None:
            raise ValueError(f"row field {self.name!r}: an attribute is a field of a row type")


@dataclass(frozen=True, eq=False)
class TypeClass:
    """A registered type name with its parameters, base classes and listing data.

    ``bases`` name already-registered classes this one derives from; ``abstract`` marks classes whose
    values cannot be listed or used directly; ``binary`` marks byte-valued classes (no JSON schema);
    ``reference`` marks classes whose value points at a server row (``PK``, ``Name``, ``JobOutput``);
    ``schema`` builds the JSON schema of a value (see ``schemas``); ``row_fields`` are the fields
    of a row type's values (server-resident row types only); ``pkg``/``cls`` are what
    ``/v1/job-types`` lists (UFDL's names).
    """

    name: str
    cls: str
    bases: tuple[str, ...] = ()
    parameters: tuple[TypeParameter, ...] = ()
    abstract: bool = False
    binary: bool = False
    reference: bool = False
    schema: SchemaBuilder | None = None
    row_fields: tuple[RowField, ...] = ()
    pkg: str = "ufdl.jobtypes"
    ancestors: frozenset[str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        missing = [base for base in self.bases if base not in _TYPE_CLASSES]
        if missing:
            raise ValueError(f"type class {self.name!r} derives from unregistered {missing}")
        ancestors = {self.name}
        for base in self.bases:
            ancestors |= _TYPE_CLASSES[base].ancestors
        object.__setattr__(self, "ancestors", frozenset(ancestors))
        self._check_row_fields()

    def _check_row_fields(self) -> None:
        names = [row_field.name for row_field in self.row_fields]
        if len(set(names)) != len(names):
            raise ValueError(f"type class {self.name!r} declares a row field twice")
        for parameter in self.parameters:
            if parameter.row_field is not None and parameter.row_field not in names:
                raise ValueError(
                    f"type class {self.name!r}: parameter {parameter.name!r} fixes undeclared row field "
                    f"{parameter.row_field!r}"
                )

    def row_field(self, name: str) -> RowField:
        """The declared row field ``name``; raises ``KeyError`` when there is none."""
        for row_field in self.row_fields:
            if row_field.name == name:
                return row_field
        raise KeyError(f"{self.name} rows have no field {name!r}")

    @cached_property
    def required_count(self) -> int:
        """How many arguments ``<...>`` must give at least."""
        return sum(1 for parameter in self.parameters if not parameter.optional)

    @cached_property
    def bare_type(self) -> NamedType:
        """The type the bare name stands for: every argument is its parameter's bound."""
        return NamedType(self, tuple(parameter.bound for parameter in self.parameters))

    def derives_from(self, other: TypeClass) -> bool:
        """Whether this class is ``other`` or one of its descendants."""
        return other.name in self.ancestors

    def __repr__(self) -> str:
        return f"<TypeClass {self.name}>"


_TYPE_CLASSES: dict[str, TypeClass] = {}

TYPE_CLASSES: Mapping[str, TypeClass] = MappingProxyType(_TYPE_CLASSES)
"""Every registered type class by name, in registration order (the ``/v1/job-types`` order)."""


def register_type_class(type_class: TypeClass) -> TypeClass:
    """Add a type class to the registry; its name must be a new identifier that is not a literal."""
    name = type_class.name
    if not name.isidentifier() or name.lower() in _LITERAL_IDENTIFIERS:
        raise ValueError(f"type name {name!r} must be an identifier that does not read as a literal")
    if name in _TYPE_CLASSES:
        raise ValueError(f"type name {name!r} is already registered")
    seen_optional = False
    for parameter in type_class.parameters:
        if seen_optional and not parameter.optional:
            raise ValueError(f"type {name!r}: optional parameters must come last")
        seen_optional = seen_optional or parameter.optional
    _TYPE_CLASSES[name] = type_class
    return type_class


def type_class_named(name: str) -> TypeClass | None:
    """The registered type class of that name, or None."""
    return _TYPE_CLASSES.get(name)
