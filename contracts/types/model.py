"""The type model: type classes (what a registered name takes, derives from and means) and the type
values that apply them.

Type values are immutable, hashable, structurally equal; ``str()`` is the canonical form. Two
classes: ``NamedType`` (a registered type class applied to its arguments, defaults filled in) and
``LiteralType`` (a constant such as ``'x'``, ``5``, ``2.5`` or ``@true``). Build them with
``parse_type`` or ``make_type``/``make_literal``; the constructors here trust their arguments.

A type class is declared once (see ``catalogue``) and registered by name; the parser, subtyping,
schemas and the ``/v1/job-types`` listing all read this registry, so adding a type is one
``register_type_class(TypeClass(...))`` call.

A value names its class and a class's schema builder takes values, so both live in this one module,
which imports nothing of the type language: what needs the parser (a parameter's bound, a class's
bare type: ``parameter_bounds``, ``bare_type``) is the parser's, and the builders' context is declared
here as a protocol that ``schemas`` implements.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import Any, Protocol

LiteralValue = str | int | float | bool


class Type:
    """Base of every type value."""

    __slots__ = ()

    args: tuple[Type, ...]

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"{type(self).__name__} values are immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} values are immutable")

    def __repr__(self) -> str:
        return f"parse_type({str(self)!r})"

    @property
    def is_literal(self) -> bool:
        return isinstance(self, LiteralType)


class NamedType(Type):
    """A registered type class applied to its arguments (``Array<str, int>``, ``Domain<'x'>``, ``str``)."""

    __slots__ = ("type_class", "args", "_hash", "_text")

    type_class: TypeClass
    args: tuple[Type, ...]
    _hash: int
    _text: str | None

    def __init__(self, type_class: TypeClass, args: tuple[Type, ...] = ()) -> None:
        set_slot = object.__setattr__
        set_slot(self, "type_class", type_class)
        set_slot(self, "args", args)
        set_slot(self, "_hash", hash((type_class.name, args)))
        set_slot(self, "_text", None)

    @property
    def name(self) -> str:
        """The registered name of the type class (``"Array"``)."""
        return self.type_class.name

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if type(other) is not NamedType:
            return NotImplemented if not isinstance(other, Type) else False
        return self._hash == other._hash and self.type_class is other.type_class and self.args == other.args

    def __hash__(self) -> int:
        return self._hash

    def __reduce__(self) -> tuple[Callable[[str, tuple[Type, ...]], NamedType], tuple[str, tuple[Type, ...]]]:
        # Pickle (and deepcopy) by class name and arguments: the default slot protocol would trip
        # __setattr__, and the name finds the same registered class in another process.
        return (_registered_type, (self.type_class.name, self.args))

    def __str__(self) -> str:
        text = self._text
        if text is None:
            name = self.type_class.name
            text = f"{name}<{', '.join([str(arg) for arg in self.args])}>" if self.args else name
            object.__setattr__(self, "_text", text)
        return text


class LiteralType(Type):
    """A constant type; keyed by its base type and value, so ``1``, ``1.0``, ``@true`` and ``'1'`` differ."""

    __slots__ = ("base", "value", "_text", "_hash")

    base: NamedType
    value: LiteralValue
    _text: str
    _hash: int

    def __init__(self, base: NamedType, value: LiteralValue) -> None:
        set_slot = object.__setattr__
        set_slot(self, "base", base)
        set_slot(self, "value", value)
        # The canonical text identifies the literal exactly (it tells 1 from 1.0 and 0.0 from -0.0,
        # and makes nan equal to itself), so equality and hashing use it.
        text = format_literal(value)
        set_slot(self, "_text", text)
        set_slot(self, "_hash", hash(("literal", text)))

    args = ()

    def __eq__(self, other: object) -> bool:
        if self is other:
            return True
        if type(other) is not LiteralType:
            return NotImplemented if not isinstance(other, Type) else False
        return self._text == other._text

    def __hash__(self) -> int:
        return self._hash

    def __reduce__(self) -> tuple[type[LiteralType], tuple[NamedType, LiteralValue]]:
        return (LiteralType, (self.base, self.value))

    def __str__(self) -> str:
        return self._text


def format_type(type_: Type) -> str:
    """The canonical form of a type (same as ``str(type_)``)."""
    return str(type_)


def format_literal(value: LiteralValue) -> str:
    """Canonical text of a literal value: ``'it\\'s'``, ``5``, ``2.5``, ``inf``, ``@true``."""
    if value is True:
        return "@true"
    if value is False:
        return "@false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        # repr() is the shortest text float() reads back exactly (and gives inf, -inf, nan).
        return repr(value)
    return quote_string(value)


def quote_string(text: str) -> str:
    """Single-quote a string, escaping ``'`` as ``\\'``.

    A backslash is escaped (``\\\\``) only where it could be misread: before a quote, before another
    backslash, or at the end. Everywhere else it stands for itself, as UFDL writes it.
    """
    if "\\" not in text:
        return "'" + text.replace("'", "\\'") + "'"
    pieces = []
    last = len(text) - 1
    for index, char in enumerate(text):
        if char == "'":
            pieces.append("\\'")
        elif char == "\\" and (index == last or text[index + 1] in "'\\"):
            pieces.append("\\\\")
        else:
            pieces.append(char)
    return "'" + "".join(pieces) + "'"


def literal_value(type_: Type) -> LiteralValue | None:
    """The constant of a literal type, or None for any other type."""
    return type_.value if isinstance(type_, LiteralType) else None


# Type classes ------------------------------------------------------------------------------------


class SchemaContext(Protocol):
    """What a schema builder may ask of the ``json_schema`` call it works for (``schemas`` implements it)."""

    definitions: dict[str, Any]

    @property
    def at_top(self) -> bool:
        """Whether the type being built is the outermost one (it carries the ``definitions``)."""

    def nested(self, type_: Type) -> dict[str, Any] | None:
        """The schema of a type inside the one being built (no ``definitions`` of its own)."""

    def resolved_enum(self, type_: NamedType) -> list[Any] | None:
        """The JSON values the resolver allows for a reference or row type, or None if unknown."""

    def any_json_reference(self) -> dict[str, Any]:
        """A reference to the recursive any-JSON definition (added to ``definitions``)."""


SchemaBuilder = Callable[[NamedType, SchemaContext], dict[str, Any] | None]

# Words the parser reads as float literals although they are identifiers; no type may take them.
_LITERAL_IDENTIFIERS = frozenset({"inf", "infinity", "nan"})


@dataclass(frozen=True)
class TypeParameter:
    """One generic parameter of a type class: its name and the bound its argument must be a subtype of.

    ``optional``: may be left out inside ``<...>`` (trailing only); it then takes its bound, as the
    size of ``Array<str>`` does. ``literals``: whether a literal may be the argument.
    ``minimum``: the lowest integer literal allowed. ``row_field``: for server-resident types, the
    field of the server row that this argument constrains (``Domain``'s ``description``); it must be
    one of the class's ``row_fields``. The bound is kept as its text (the catalogue declares classes
    before all of their bounds exist); ``parser.parameter_bounds`` gives it as a type.
    """

    name: str
    bound_text: str
    optional: bool = False
    literals: bool = True
    minimum: int | None = None
    row_field: str | None = None


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


def _registered_type(name: str, args: tuple[Type, ...]) -> NamedType:
    """Unpickle a named type: its class by name, in this process's registry."""
    return NamedType(_TYPE_CLASSES[name], args)
