"""Type values: immutable, hashable, structurally equal; ``str()`` is the canonical form.

Two classes: ``NamedType`` (a registered type class applied to its arguments, defaults filled in)
and ``LiteralType`` (a constant such as ``'x'``, ``5``, ``2.5`` or ``@true``). Build them with
``parse_type`` or ``make_type``/``make_literal``; the constructors here trust their arguments.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from contracts.types.registry import TypeClass

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

    def __reduce__(self) -> tuple[Callable[[str], Type], tuple[str]]:
        # Pickle (and deepcopy) by canonical text: the default slot protocol would trip __setattr__.
        return (_parse_canonical, (str(self),))

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


def _parse_canonical(text: str) -> Type:
    from contracts.types.parser import parse_type

    return parse_type(text)
