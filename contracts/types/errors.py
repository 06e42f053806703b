"""Exceptions of the type language: a type-string (or contract string) that does not parse."""

from __future__ import annotations

from collections.abc import Callable

from contracts.types.limits import LIMITS

SHOWN_HEAD_CHARS = 80
"""How much of an over-long string an error message shows."""


class ParseError(ValueError):
    """Base of the parse errors: ``Error parsing <subject> "<text>": <cause>``.

    ``text`` is the input exactly as given, ``cause`` says what is wrong with it (without the
    "Error parsing ..." prefix), ``position`` is the offset in ``text`` the cause refers to when
    there is one, and ``reason`` is a stable machine-readable code (one of ``REASONS``).
    """

    code = "parse_error"
    subject = "string"

    REASONS = frozenset(
        {"syntax", "unknown_name", "unknown_contract", "arity", "bound", "literal_argument", "too_long", "too_deep"}
    )

    def __init__(self, text: str, cause: str, *, reason: str = "syntax", position: int | None = None) -> None:
        self.text = text
        self.cause = cause
        self.reason = reason
        self.position = position
        # A string over the length limit is shown by its head: the message must not carry megabytes.
        shown = text if len(text) <= LIMITS.max_chars else f"{text[:SHOWN_HEAD_CHARS]}…"
        super().__init__(f'Error parsing {self.subject} "{shown}": {cause}')

    def __reduce__(self) -> tuple[Callable[..., ParseError], tuple[type[ParseError], str, str, str, int | None]]:
        return (_rebuild_error, (type(self), self.text, self.cause, self.reason, self.position))


def _rebuild_error(cls: type[ParseError], text: str, cause: str, reason: str, position: int | None) -> ParseError:
    # Keyword-only arguments defeat BaseException's default pickling; this rebuilds it.
    return cls(text, cause, reason=reason, position=position)


class TypeParseError(ParseError):
    """A type-string is malformed, names an unknown type, or breaks an arity, bound or literal rule."""

    code = "type_parse_error"
    subject = "type-string"
