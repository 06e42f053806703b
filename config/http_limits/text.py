"""Linear checks of request text: JSON nesting depth (before parsing) and characters no database column
can store (NUL, lone surrogates), located by path."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from functools import cache
from itertools import islice
from typing import Any

from config.errors import Problem, join_path

# Every byte but the brackets and the quote, deleted in one C-speed pass.
_NOT_STRUCTURE = bytes(range(256)).translate(None, b'[]{}"')
# What a JSON text must contain for a parsed string to hold a NUL or a lone surrogate: a \u escape of one
# (a raw NUL is a control character, which strict JSON refuses; raw surrogates are not valid UTF-8).
_SUSPECT_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def json_depth_exceeds(text: bytes, limit: int) -> bool:
    """Whether the UTF-8 JSON ``text`` nests arrays and objects more than ``limit`` deep, in linear time
    and without recursion (a body of 100,000 ``[`` costs a scan, never a RecursionError)."""
    # Fast path: no more opening brackets (strings included) than the limit.
    if text.count(b"[") + text.count(b"{") <= limit:
        return False
    # Escaped backslashes, then escaped quotes (left to right, so "\\\"" is right), then all but the
    # brackets and quotes: what is left between quotes was inside strings.
    structure = text.replace(b"\\\\", b"").replace(b'\\"', b"").translate(None, _NOT_STRUCTURE)
    brackets = b"".join(structure.split(b'"')[::2])
    if len(brackets) <= limit:
        return False
    import numpy  # only here: the running depth in C (4 MB in a tenth of a second)

    steps = _bracket_steps()[numpy.frombuffer(brackets, dtype=numpy.uint8)]
    return int(numpy.cumsum(steps, dtype=numpy.int32).max()) > limit


@cache
def _bracket_steps():
    """+1 for an opening bracket, -1 for a closing one, by byte."""
    import numpy

    table = numpy.zeros(256, dtype=numpy.int8)
    table[[ord("["), ord("{")]] = 1
    table[[ord("]"), ord("}")]] = -1
    return table


def json_text_suspect(text: bytes) -> bool:
    """Whether the UTF-8 JSON ``text`` may decode to a NUL or a lone surrogate (cheap: a scan for the escapes)."""
    return _SUSPECT_ESCAPE.search(text) is not None


def printable(text: str, limit: int = 80) -> str:
    """``text`` for a message or a path: NUL and surrogates escaped, at most ``limit`` characters."""
    shown = _UNSTORABLE.sub(lambda match: f"\\u{ord(match.group()):04x}", text[:limit])
    return shown + ("…" if len(text) > limit else "")


def unstorable_problem(path: str, text: str, *, key: bool = False) -> Problem:
    """The problem of ``text`` (at ``path``) holding a NUL character or a lone surrogate."""
    found = _UNSTORABLE.search(text)
    assert found is not None
    what = "a NUL character (U+0000)" if found.group() == "\x00" else f"a lone surrogate (U+{ord(found.group()):04X})"
    where = "the key" if key else "the text"
    return Problem(path=path, code="invalid_character", message=f"{where} holds {what}, which cannot be stored")


def text_problems(value: Any, path: str = "", *, most: int = 100) -> list[Problem]:
    """Every string of the parsed JSON ``value`` (keys too, at any depth) holding a NUL character or a lone
    surrogate, by path (``expressions[0].value``), at most ``most`` of them; iterative."""
    return list(islice(_iter_text_problems(value, path), most))


def _render(location: tuple | None, root: str) -> str:
    """A path from the linked ``(parent, key)`` pairs of the walk (built only for a problem)."""
    keys = []
    while location is not None:
        location, key = location
        keys.append(key)
    path = root
    for key in reversed(keys):
        path = join_path(path, key if isinstance(key, int) else printable(key))
    return path


def _iter_text_problems(value: Any, root: str) -> Iterator[Problem]:
    search = _UNSTORABLE.search
    # (item, location, whether it is a key): strings and containers only, pushed in reverse so that the
    # problems come in document order.
    stack: list[tuple[Any, tuple | None, bool]] = [(value, None, False)]
    pop, push = stack.pop, stack.append
    while stack:
        item, location, is_key = pop()
        if isinstance(item, str):
            if search(item):
                yield unstorable_problem(_render(location, root), item, key=is_key)
        elif isinstance(item, dict):
            for key, child in reversed(item.items()):
                if isinstance(child, str | dict | list):
                    push((child, (location, key), False))
                push((key, (location, key), True))
        elif isinstance(item, list):
            for index in range(len(item) - 1, -1, -1):
                child = item[index]
                if isinstance(child, str | dict | list):
                    push((child, (location, index), False))


def query_problems(pairs: Iterable[tuple[str, list[str]]], prefix: str) -> list[Problem]:
    """The problems of a query string or form body (``QueryDict.lists()``): ``query.name`` (``prefix``
    ``query``) for a value or a name holding a NUL character or a lone surrogate."""
    problems = []
    for key, values in pairs:
        path = join_path(prefix, printable(key))
        if _UNSTORABLE.search(key):
            problems.append(unstorable_problem(path, key, key=True))
        problems.extend(unstorable_problem(path, value, key=False) for value in values if _UNSTORABLE.search(value))
    return problems


def has_unstorable(text: str) -> bool:
    """Whether ``text`` holds a NUL character or a lone surrogate."""
    return _UNSTORABLE.search(text) is not None
