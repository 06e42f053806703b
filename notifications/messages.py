"""Safe message formatting: only ``{field}`` placeholders of the documented fields are replaced.

Attribute access (``{pk.__class__}``), indexing (``{transition_data[x]}``), positional fields (``{0}``)
and format specs (``{pk:>99999999}``) are left verbatim, so a message can never read more than these
values, allocate without bound, or raise. This is deliberately not ``str.format``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

# The data available to messages (http-api.md §4.3), ours last.
MESSAGE_FIELDS = ("transition", "description", "pk", "progress", "cancelled", "node", "error", "transition_data",
                  "template", "status")
PLACEHOLDER = re.compile(r"\{([A-Za-z_]+)\}")


def render_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def format_message(template: str, data: Mapping[str, Any]) -> str:
    """Replace ``{field}`` for the documented fields present in ``data``; leave everything else as is."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in MESSAGE_FIELDS and name in data:
            return render_value(data[name])
        return match.group(0)

    return PLACEHOLDER.sub(replace, template)
