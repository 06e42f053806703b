"""How long and how deeply nested a type-string may be: limits of the parser, set once by the Django side.

The parser reads them on every parse, so ``configure`` (``contracts.apps`` passes the settings
``TYPE_STRING_MAX_CHARS`` and ``TYPE_MAX_DEPTH``) applies to every caller at once: query strings,
template imports, job inputs, node reports. UFDL's deepest real type nests 4 levels and its longest
is 92 characters; the defaults leave ample room while keeping a parse (and the recursion of
formatting, subtyping and schemas over the parsed value) far from Python's recursion limit.
"""

from __future__ import annotations

DEFAULT_MAX_CHARS = 4096
DEFAULT_MAX_DEPTH = 32


class TypeLimits:
    """The current limits (one shared instance, ``LIMITS``)."""

    __slots__ = ("max_chars", "max_depth")

    def __init__(self) -> None:
        self.max_chars = DEFAULT_MAX_CHARS
        self.max_depth = DEFAULT_MAX_DEPTH


LIMITS = TypeLimits()


def configure(*, max_chars: int, max_depth: int) -> None:
    """Set the limits; strings parsed (and cached) before keep their values, so call this at start-up."""
    if max_chars < 1 or not 1 <= max_depth <= 100:
        raise ValueError(f"type limits out of range: max_chars={max_chars}, max_depth={max_depth} (1..100)")
    LIMITS.max_chars = max_chars
    LIMITS.max_depth = max_depth
