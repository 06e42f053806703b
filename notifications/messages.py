"""Safe message formatting: only ``{field}`` placeholders of the documented fields are replaced.

Attribute access (``{pk.__class__}``), indexing (``{transition_data[x]}``), positional fields (``{0}``),
conversions (``{error!r}``) and format specs (``{pk:>99999999}``) are left verbatim, so a message can
never read more than these values, allocate without bound, or raise. This is deliberately not
``str.format``; like it (and so like the messages UFDL users wrote), ``{{`` and ``}}`` are literal
braces. One pass: a substituted value is never read as a template itself.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

# The data available to messages (http-api.md §4.3), ours last.
MESSAGE_FIELDS = (
    "transition",
    "description",
    "pk",
    "progress",
    "cancelled",
    "node",
    "error",
    "transition_data",
    "template",
    "status",
)
TOKEN = re.compile(r"\{\{|\}\}|\{([A-Za-z_]+)\}")


def render_value(value: Any) -> str:
    """A value as text: nothing for null, JSON for objects and arrays, ``str`` otherwise."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def format_message(template: str, data: Mapping[str, Any]) -> str:
    """Replace ``{field}`` for the documented fields present in ``data``; leave everything else as is."""

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        name = match.group(1)
        if name not in MESSAGE_FIELDS or name not in data:
            return token
        try:
            return render_value(data[name])
        except Exception:  # formatting never raises: a value that cannot be shown stays a placeholder
            return token

    return TOKEN.sub(replace, template)


def single_line(text: str) -> str:
    """``text`` on one line (an email subject with a newline would be refused as header injection)."""
    return " ".join(text.split())
