"""Tokenizer of type-strings: brackets, commas, single-quoted strings and bare words.

One left-to-right pass, no backtracking. A bare word is a maximal run of characters other than
whitespace, ``<``, ``>``, ``,`` and ``'``; the parser decides whether it is a literal or a name.
Inside quotes ``\\'`` is a quote and ``\\\\`` a backslash; any other backslash stands for itself.
"""

from __future__ import annotations

import re

from contracts.types.errors import TypeParseError
from contracts.types.model import quote_string

OPEN = "<"
CLOSE = ">"
COMMA = ","
STRING = "string"
WORD = "word"
END = "end of input"

# Each matches one run of a single character class, so a match cannot backtrack.
_WORD_RUN = re.compile(r"[^\s<>,']+")
_SPACE_RUN = re.compile(r"\s+")


Token = tuple[str, str, int]
"""A token: (kind, value, offset in the text); kind is one of the constants above. Plain tuples: speed."""


def describe_token(token: Token) -> str:
    """The token as an error message names it: ``'>'``, ``'extra'``, ``string 'y'``, ``end of input``."""
    kind, value, _position = token
    if kind == END:
        return "end of input"
    if kind == STRING:
        return f"string {quote_string(value)}"
    return f"'{value}'"


def tokenize(text: str) -> list[Token]:
    """Split a type-string into tokens, ending with an END token; raises TypeParseError."""
    tokens: list[Token] = []
    append = tokens.append
    length = len(text)
    index = 0
    while index < length:
        char = text[index]
        if char == "<" or char == ">" or char == ",":
            append((char, char, index))
            index += 1
        elif char == "'":
            value, end = _read_string(text, index)
            append((STRING, value, index))
            index = end
        elif char.isspace():
            space = _SPACE_RUN.match(text, index)
            assert space is not None  # text[index] is whitespace, so the run holds at least it
            index = space.end()
        else:
            word = _WORD_RUN.match(text, index)
            assert word is not None  # text[index] is none of the above, so the run holds at least it
            end = word.end()
            append((WORD, text[index:end], index))
            index = end
    append((END, "", length))
    return tokens


def _read_string(text: str, start: int) -> tuple[str, int]:
    """Read the quoted string opening at ``start``; returns its value and the offset after it."""
    pieces: list[str] = []
    index = start + 1
    while True:
        quote = text.find("'", index)
        backslash = text.find("\\", index, quote if quote >= 0 else len(text))
        if backslash >= 0:
            pieces.append(text[index:backslash])
            escaped = text[backslash + 1 : backslash + 2]
            if escaped == "'" or escaped == "\\":
                pieces.append(escaped)
                index = backslash + 2
            else:
                pieces.append("\\")
                index = backslash + 1
            continue
        if quote < 0:
            raise TypeParseError(text, f"unterminated string literal starting at position {start}", position=start)
        pieces.append(text[index:quote])
        return "".join(pieces), quote + 1
