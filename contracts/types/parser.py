"""Recursive-descent parser of type-strings into type values, with the arity and bound rules.

``parse_type`` is the entry point (LRU-cached by string). ``make_type``/``make_literal`` build the
same values from Python, with the same checks. ``parse_type_template`` and ``parse_application``
serve contracts: the first reads a type over named parameters, the second a ``Name<type, ...>``
whose head is not a type name.
"""

from __future__ import annotations

from collections.abc import Container, Mapping
from functools import lru_cache

from contracts.types.errors import TypeParseError
from contracts.types.grammar import CLOSE, COMMA, END, OPEN, STRING, WORD, Token, tokenize
from contracts.types.registry import _TYPE_CLASSES, TypeClass, TypeParameter
from contracts.types.subtyping import is_subtype
from contracts.types.values import LiteralType, LiteralValue, NamedType, Type

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
    if head.kind != WORD:
        parser.fail_expected(f"a {head_kind} name", head)
    if head.value not in heads:
        parser.fail(f'Unknown {head_kind}-name "{head.value}"', reason=f"unknown_{head_kind}", position=head.position)
    arguments = parser.parse_arguments()
    parser.expect_end()
    return head.value, arguments


def make_type(name: str, *arguments: Type) -> NamedType:
    """Build ``name<arguments...>`` from Python with the parser's rules (omitted optional args take bounds)."""
    text = f"{name}<{', '.join(str(argument) for argument in arguments)}>"
    type_class = _TYPE_CLASSES.get(name)
    if type_class is None:
        raise TypeParseError(text, f'Unknown type-name "{name}"', reason="unknown_name")
    problem = _arguments_problem(type_class, arguments)
    if problem is not None:
        reason, cause, _index = problem
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

    __slots__ = ("text", "tokens", "index", "variables")

    def __init__(self, text: str, variables: Mapping[str, Type] | None = None) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0
        self.variables = variables

    def advance(self) -> Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def fail(self, cause: str, *, reason: str = "syntax", position: int | None = None) -> None:
        raise TypeParseError(self.text, cause, reason=reason, position=position)

    def fail_expected(self, expected: str, found: Token) -> None:
        if not self.text.strip():
            self.fail("empty type-string", position=found.position)
        self.fail(
            f"expected {expected} at position {found.position}, found {found.describe()}", position=found.position
        )

    def expect_end(self) -> None:
        token = self.tokens[self.index]
        if token.kind != END:
            self.fail(
                f"unexpected {token.describe()} at position {token.position} after a complete type",
                position=token.position,
            )

    def parse_complete_type(self) -> Type:
        parsed = self.parse_type()
        self.expect_end()
        return parsed

    def parse_type(self) -> Type:
        token = self.advance()
        kind = token.kind
        if kind == WORD:
            word = token.value
            if self.variables is not None and word in self.variables:
                if self.tokens[self.index].kind == OPEN:
                    self.fail(f"type parameter {word} takes no arguments", position=self.tokens[self.index].position)
                return self.variables[word]
            type_class = _TYPE_CLASSES.get(word)
            if type_class is not None:
                arguments = self.parse_arguments()
                if arguments is None:
                    return type_class.bare_type
                return self.apply(type_class, arguments, token)
            literal = _literal_from_word(word)
            if literal is None:
                if word.startswith('"'):
                    self.fail(
                        f"strings take single quotes ('...'), not double: found {word} at position {token.position}",
                        position=token.position,
                    )
                self.fail(f'Unknown type-name "{word}"', reason="unknown_name", position=token.position)
            return literal
        if kind == STRING:
            return LiteralType(_literal_base("str"), token.value)
        self.fail_expected("a type", token)
        raise AssertionError("unreachable")

    def parse_arguments(self) -> list[Type] | None:
        """Read ``<type, ...>`` if the next token opens one (a trailing comma is allowed)."""
        tokens = self.tokens
        opening = tokens[self.index]
        if opening.kind != OPEN:
            return None
        self.index += 1
        arguments: list[Type] = []
        if tokens[self.index].kind == CLOSE:
            self.index += 1
            return arguments
        while True:
            arguments.append(self.parse_type())
            token = self.advance()
            if token.kind == CLOSE:
                return arguments
            if token.kind == COMMA:
                if tokens[self.index].kind == CLOSE:
                    self.index += 1
                    return arguments
                continue
            if token.kind == END:
                self.fail(f"unclosed '<' at position {opening.position}", position=opening.position)
            self.fail_expected("',' or '>'", token)

    def apply(self, type_class: TypeClass, arguments: list[Type], head: Token) -> NamedType:
        problem = _arguments_problem(type_class, arguments)
        if problem is not None:
            reason, cause, _index = problem
            self.fail(cause, reason=reason, position=head.position)
        return _apply(type_class, arguments)


def _arguments_problem(type_class: TypeClass, arguments) -> tuple[str, str, int | None] | None:
    """What is wrong with applying the class to these arguments: (reason, cause, argument index), or None."""
    parameters = type_class.parameters
    count = len(arguments)
    if count < type_class.required_count or count > len(parameters):
        return "arity", _arity_message(type_class, count), None
    for index, (argument, parameter) in enumerate(zip(arguments, parameters, strict=False)):
        problem = _argument_problem(type_class, parameter, argument)
        if problem is not None:
            return problem[0], problem[1], index
    return None


def _argument_problem(type_class: TypeClass, parameter: TypeParameter, argument: Type) -> tuple[str, str] | None:
    bound = parameter.bound
    if not is_subtype(argument, bound):
        return "bound", f"{argument} is not a sub-type of {bound}"
    if type(argument) is LiteralType:
        if not parameter.literals:
            return (
                "literal_argument",
                f"the {parameter.name} of {type_class.name} must be a type, not the literal {argument}",
            )
        if parameter.minimum is not None and argument.value < parameter.minimum:
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


def _apply(type_class: TypeClass, arguments) -> NamedType:
    parameters = type_class.parameters
    if len(arguments) < len(parameters):
        arguments = list(arguments) + [parameter.bound for parameter in parameters[len(arguments) :]]
    return NamedType(type_class, tuple(arguments))


_literal_bases: dict[str, NamedType] = {}


def _literal_base(name: str) -> NamedType:
    base = _literal_bases.get(name)
    if base is None:
        base = _literal_bases[name] = _TYPE_CLASSES[name].bare_type
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
