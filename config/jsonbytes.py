"""JSON bytes written fast (orjson) and exactly as DRF's JSONRenderer writes them (compact, UTF-8).

Shared by the API's renderer (``config.api.renderers``) and by code below the API that keeps answers as
bytes (services never import DRF). Non-finite floats are refused (``ValueError``), as DRF refuses them;
what orjson cannot write (an integer past 64 bits) is written by the standard library, as DRF does.
"""

from __future__ import annotations

import datetime
import decimal
import json
import math
from collections.abc import Callable
from typing import Any

import orjson

# Datetimes pass through to ``default`` so that DRF's spelling decides ("Z" for any zero offset).
OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
_LINE_SEPARATOR = "\u2028".encode()
_PARAGRAPH_SEPARATOR = "\u2029".encode()


class NonFiniteFloat(ValueError):
    """A NaN or an infinity in an answer: not JSON (DRF's STRICT_JSON refuses them too)."""


def iso_datetime(value: datetime.datetime) -> str:
    """A datetime as DRF's encoder writes it: ISO 8601, ``Z`` for a zero UTC offset."""
    text = value.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def plain_default(value: Any) -> Any:
    """What the standard library cannot write, as DRF's encoder writes it, for the types we send."""
    if isinstance(value, datetime.datetime):
        return iso_datetime(value)
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            raise NonFiniteFloat("Out of range float values are not JSON compliant")
        return float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def has_non_finite(data: Any) -> bool:
    """Whether ``data`` holds a NaN or an infinity anywhere in its dicts, lists and tuples."""
    pending = [data]
    while pending:
        value = pending.pop()
        if isinstance(value, float):
            if not math.isfinite(value):
                return True
        elif isinstance(value, dict):
            pending.extend(value.values())
        elif isinstance(value, list | tuple):
            pending.extend(value)
    return False


def dumps(
    data: Any,
    *,
    default: Callable[[Any], Any] = plain_default,
    fallback: Callable[[Any], bytes] | None = None,
) -> bytes:
    """``data`` as compact JSON bytes, as DRF's JSONRenderer writes them; raises ``ValueError`` for
    NaN/infinity. ``fallback`` writes what orjson cannot (default: the standard library)."""
    try:
        rendered = orjson.dumps(data, default=default, option=OPTIONS)
    except orjson.JSONEncodeError as error:
        if isinstance(error.__cause__, NonFiniteFloat):
            raise error.__cause__ from None
        if fallback is not None:
            return fallback(data)
        text = json.dumps(data, default=default, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        rendered = text.encode()
    # orjson writes non-finite floats as null: only an answer with a null can hide one.
    if b"null" in rendered and has_non_finite(data):
        raise NonFiniteFloat("Out of range float values are not JSON compliant")
    if _LINE_SEPARATOR in rendered or _PARAGRAPH_SEPARATOR in rendered:
        rendered = rendered.replace(_LINE_SEPARATOR, b"\\u2028").replace(_PARAGRAPH_SEPARATOR, b"\\u2029")
    return rendered
