"""Our one deliberate departure from UFDL's value schemas: integers are bounded to PostgreSQL's bigint.

UFDL's ``int`` schema is ``{"type": "integer"}`` and a ``PK``/``JobOutput`` value's ``{"type":
"integer", "minimum": 1}``; ours add ``minimum``/``maximum`` (issue 12: a value the database or an
executor cannot hold is refused up front). ``with_int_bounds`` turns UFDL's schema into ours, so
tests still compare everything else with UFDL's answers exactly (key order included).
"""

from __future__ import annotations

from typing import Any

from contracts.types.schemas import INT_MAX, INT_MIN


def with_int_bounds(schema: Any) -> Any:
    """UFDL's schema with its value integers bounded as ours are (row fields' schemas stay UFDL's)."""
    if isinstance(schema, list):
        return [with_int_bounds(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if schema == {"type": "integer"}:
        return {"type": "integer", "minimum": INT_MIN, "maximum": INT_MAX}
    if schema == {"type": "integer", "minimum": 1}:
        return {"type": "integer", "minimum": 1, "maximum": INT_MAX}
    if schema.get("type") == "object" and "properties" in schema and "additionalProperties" in schema:
        if schema["additionalProperties"] is False:
            return schema  # a row's object: its fields are the row's, as UFDL writes them
    return {key: with_int_bounds(value) for key, value in schema.items()}
