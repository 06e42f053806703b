"""Recursive-descent parser of type-strings into type values, with the arity and bound rules.

``parse_type`` is the entry point (LRU-cached by string). ``make_type``/``make_literal`` build the
same values from Python, with the same checks. ``parse_type_template`` and ``parse_application``
serve contracts: the first reads a type over named parameters, the second a ``Name<type, ...>``
whose head is not a type name.
"""

from __future__ import annotations

from collections.abc import Container, Mapping, Sequence
from functools import lru_cache
from typing import NoReturn

from contracts.types.errors import TypeParseError
from contracts.types.grammar import CLOSE, COMMA, END, OPEN, STRING, WORD, Token, describe_token, tokenize
from contracts.types.limits import LIMITS
from contracts.types.model import _TYPE_CLASSES, LiteralType, LiteralValue, NamedType, Type, TypeClass, TypeParameter
from contracts.types.subtyping import is_subtype

PARSE_CACHE_SIZE = 4096
"""How many distinct type-strings ``parse_type`` remembers."""


@lru_cache(maxsize=PARSE_CACHE_SIZE)
def parse_type(text: str) -> Type:
    """Parse a type-string (spec §1) into a type value; raises TypeParseError naming input and cause."""
    return _Parser(text).parse_complete_type()


def parse_type_template(text: str, variables: Mapping[str, Type]) -> Type:
    """Parse a type-string in which the names in ``variables`` stand for the given types (not cached)."""
    return _Parser(text, variables).parse_complete_type()


def parse_application(text: str, *, heads: Container[str], head_kind: str) -> tuple[str, list[Type] | None]:
    """Parse ``Head`` or ``Head<type, ...>`` where Head must be one of ``heads``; returns it and the arguments.

    The arguments are None when there is no ``<...>``. Used for contract strings, whose head is a
    contract name (``head_kind="contract"``) rather than a type name.
    """
    parser = _Parser(text)
    head = parser.advance()
    kind, name, position = head
    if kind != WORD:
        parser.fail_expected(f"a {head_kind} name", head)
    if name not in heads:
        parser.fail(f'Unknown {head_kind}-name "{name}"', reason=f"unknown_{head_kind}", position=position)
    arguments = parser.parse_arguments()
    parser.expect_end()
    return name, arguments


def parameter_bounds(type_class: TypeClass) -> tuple[Type, ...]:
    """The bound of each of the class's parameters as a type value (parsed on first use, once the
    catalogue is complete, and kept: a registered class does not change)."""
    bounds = _bounds.get(type_class)
    if bounds is None:
        bounds = _bounds[type_class] = tuple(parse_type(parameter.bound_text) for parameter in type_class.parameters)
    return bounds


def bare_type(type_class: TypeClass) -> NamedType:
    """The type the bare name stands for: every argument is its parameter's bound."""
    bare = _bare_types.get(type_class)
    if bare is None:
        bare = _bare_types[type_class] = NamedType(type_class, parameter_bounds(type_class))
    return bare


# Keyed by the class object (type classes compare by identity), so a class made and dropped by a
# test never lends its entries to another of the same name.
_bounds: dict[TypeClass, tuple[Type, ...]] = {}
_bare_types: dict[TypeClass, NamedType] = {}


def make_type(name: str, *arguments: Type) -> NamedType:
    """Build ``name<arguments...>`` from Python with the parser's rules (omitted optional args take bounds)."""
    text = f"{name}<{', '.join(str(argument) for argument in arguments)}>"
    type_class = _TYPE_CLASSES.get(name)
    if type_class is None:
        raise TypeParseError(text, f'Unknown type-name "{name}"', reason="unknown_name")
    problem = _arguments_problem(type_class, arguments)
    if problem is not None:
        reason, cause = problem
        raise TypeParseError(text, cause, reason=reason)
    return _apply(type_class, arguments)


def make_literal(value: LiteralValue) -> LiteralType:
    """The literal type of a Python constant (bool, int, float or str)."""
    if isinstance(value, bool):
        return LiteralType(_literal_base("bool"), value)
    if isinstance(value, int):
        return LiteralType(_literal_base("int"), value)
    if isinstance(value, float):
        return LiteralType(_literal_base("float"), value)
    if isinstance(value, str):
        return LiteralType(_literal_base("str"), value)
    raise TypeError(f"no literal type for a {type(value).__name__} value")


class _Parser:
    """One parse of one string: the token list and a cursor."""

    __slots__ = ("text", "tokens", "index", "variables", "depth", "max_depth")

    def __init__(self, text: str, variables: Mapping[str, Type] | None = None) -> None:
        self.text = text
        max_chars = LIMITS.max_chars
        if len(text) > max_chars:
            # Before tokenizing: the cost of a refused string does not grow with it.
            self.fail(
                f"at most {max_chars} characters (TYPE_STRING_MAX_CHARS); this one has {len(text)}",
                reason="too_long",
            )
        self.tokens = tokenize(text)
        self.index = 0
        self.variables = variables
        self.depth = 0
        self.max_depth = LIMITS.max_depth

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def fail(self, cause: str, *, reason: str = "syntax", position: int | None = None) -> NoReturn:
        raise TypeParseError(self.text, cause, reason=reason, position=position)

    def fail_expected(self, expected: str, found: Token) -> NoReturn:
        position = found[2]
        if not self.text.strip():
            self.fail("empty type-string", position=position)
        self.fail(f"expected {expected} at position {position}, found {describe_token(found)}", position=position)

    def expect_end(self) -> None:
        token = self.tokens[self.index]
        kind, _value, position = token
        if kind != END:
            self.fail(
                f"unexpected {describe_token(token)} at position {position} after a complete type", position=position
            )

    def parse_complete_type(self) -> Type:
        parsed = self.parse_type()
        self.expect_end()
        return parsed

    def parse_type(self) -> Type:
        token = self.advance()
        kind, value, position = token
        if kind == WORD:
            variables = self.variables
            if variables is not None and value in variables:
                following_kind, _following, following_position = self.tokens[self.index]
                if following_kind == OPEN:
                    self.fail(f"type parameter {value} takes no arguments", position=following_position)
                return variables[value]
            type_class = _TYPE_CLASSES.get(value)
            if type_class is not None:
                arguments = self.parse_arguments()
                if arguments is None:
                    return bare_type(type_class)
                return self.apply(type_class, arguments, position)
            literal = _literal_from_word(value)
            if literal is None:
                if value.startswith('"'):
                    self.fail(
                        f"strings take single quotes ('...'), not double: found {value} at position {position}",
                        position=position,
                    )
                self.fail(f'Unknown type-name "{value}"', reason="unknown_name", position=position)
            return literal
        if kind == STRING:
            return LiteralType(_literal_base("str"), value)
        self.fail_expected("a type", token)
        raise AssertionError("unreachable")  # fail_expected raises; ruff's RET503 does not read NoReturn

    def parse_arguments(self) -> list[Type] | None:
        """Read ``<type, ...>`` if the next token opens one (a trailing comma is allowed)."""
        tokens = self.tokens
        opening_kind, _value, opening_position = tokens[self.index]
        if opening_kind != OPEN:
            return None
        self.index += 1
        arguments: list[Type] = []
        if tokens[self.index][0] == CLOSE:
            self.index += 1
            return arguments
        self.depth += 1
        if self.depth > self.max_depth:
            self.fail(
                f"a type nests at most {self.max_depth} levels of '<' (TYPE_MAX_DEPTH); "
                f"the one at position {opening_position} is deeper",
                reason="too_deep",
                position=opening_position,
            )
        while True:
            arguments.append(self.parse_type())
            token = self.advance()
            kind = token[0]
            if kind == CLOSE:
                self.depth -= 1
                return arguments
            if kind == COMMA:
                if tokens[self.index][0] == CLOSE:
                    self.index += 1
                    self.depth -= 1
                    return arguments
                continue
            if kind == END:
                self.fail(f"unclosed '<' at position {opening_position}", position=opening_position)
            self.fail_expected("',' or '>'", token)

    def apply(self, type_class: TypeClass, arguments: list[Type], position: int) -> NamedType:
        problem = _arguments_problem(type_class, arguments)
        if problem is not None:
            reason, cause = problem
            self.fail(cause, reason=reason, position=position)
        return _apply(type_class, arguments)


def _arguments_problem(type_class: TypeClass, arguments: Sequence[Type]) -> tuple[str, str] | None:
    """What is wrong with applying the class to these arguments, as (reason, cause); None if nothing."""
    parameters = type_class.parameters
    count = len(arguments)
    if count < type_class.required_count or count > len(parameters):
        return "arity", _arity_message(type_class, count)
    for argument, parameter, bound in zip(arguments, parameters, parameter_bounds(type_class), strict=False):
        problem = _argument_problem(type_class, parameter, bound, argument)
        if problem is not None:
            return problem
    return None


def _argument_problem(
    type_class: TypeClass, parameter: TypeParameter, bound: Type, argument: Type
) -> tuple[str, str] | None:
    if not is_subtype(argument, bound):
        return "bound", f"{argument} is not a sub-type of {bound}"
    if type(argument) is LiteralType:
        if not parameter.literals:
            return (
                "literal_argument",
                f"the {parameter.name} of {type_class.name} must be a type, not the literal {argument}",
            )
        value = argument.value
        # A minimum sits on a numeric bound, which the literal has just passed: it is a number.
        if parameter.minimum is not None and isinstance(value, int | float) and value < parameter.minimum:
            return (
                "literal_argument",
                f"the {parameter.name} of {type_class.name} must be at least {parameter.minimum}, not {argument}",
            )
    return None


def _arity_message(type_class: TypeClass, count: int) -> str:
    total = len(type_class.parameters)
    required = type_class.required_count
    expected = str(total) if required == total else f"{required} to {total}"
    return (
        f"Wrong number of type arguments passed to generic type '{type_class.name}': "
        f"expected {expected} but got {count}"
    )


def _apply(type_class: TypeClass, arguments: Sequence[Type]) -> NamedType:
    if len(arguments) < len(type_class.parameters):
        arguments = [*arguments, *parameter_bounds(type_class)[len(arguments) :]]
    return NamedType(type_class, tuple(arguments))


_literal_bases: dict[str, NamedType] = {}


def _literal_base(name: str) -> NamedType:
    base = _literal_bases.get(name)
    if base is None:
        base = _literal_bases[name] = bare_type(_TYPE_CLASSES[name])
    return base


def _literal_from_word(word: str) -> LiteralType | None:
    """A bare word as a literal: @true/@false, else anything int() reads, else anything float() reads."""
    if word == "@true":
        return LiteralType(_literal_base("bool"), True)
    if word == "@false":
        return LiteralType(_literal_base("bool"), False)
    try:
        return LiteralType(_literal_base("int"), int(word))
    except ValueError:
        pass
    try:
        return LiteralType(_literal_base("float"), float(word))
    except ValueError:
        return None
