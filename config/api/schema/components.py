"""The schema components our AutoSchema adds: the error envelope, a response per error status, and the
expressions of the filter spec (http-api.md §2)."""

from __future__ import annotations

# Status → (component name, what it means). Every one answers the error envelope.
ERROR_RESPONSES: dict[str, tuple[str, str]] = {
    "400": (
        "BadRequest",
        "Malformed request: an unreadable body, filter spec, type string or query value, a value out of range, "
        "a NUL character or lone surrogate, JSON nested too deep. `errors` names every offending path.",
    ),
    "401": ("Unauthorized", "Missing, malformed or expired token (refresh it and retry)."),
    "403": ("Forbidden", "The caller may not do this (admins only, the creator only, or nobody)."),
    "404": ("NotFound", "No such row, or not visible to the caller."),
    "409": (
        "Conflict",
        "Conflicts with the current state: an illegal lifecycle transition, a row still referenced, a duplicate "
        "identity, a deleted template, nothing that can run it. Extra keys say which (e.g. `status`).",
    ),
    "413": ("ContentTooLarge", "The body is over a size limit; `limit` and `setting` name it."),
    "414": ("URITooLong", "The URL is over REQUEST_MAX_URL_BYTES."),
    "415": ("UnsupportedMediaType", "The body's Content-Type is not one this route reads."),
    "422": (
        "UnprocessableContent",
        "Well-formed but invalid: a wrong input or parameter type, a value failing its schema, a missing or "
        "unknown input or parameter, a referenced row missing or not visible.",
    ),
    "501": ("NotImplemented", "A route or option of UFDL's API that this service does not provide."),
    "503": ("ServiceUnavailable", "The database is unreachable or not answering in time: retry later."),
}

ERROR_ITEM_SCHEMA = {
    "type": "object",
    "description": "One located problem.",
    "properties": {
        "path": {"type": "string", "description": "where in the request (`parameter_values.epochs`, `query.page`)"},
        "code": {"type": "string", "description": "a stable code (`wrong_type`, `required`, …)"},
        "message": {"type": "string"},
    },
    "required": ["path", "code", "message"],
}
ERROR_ENVELOPE_SCHEMA = {
    "type": "object",
    "description": (
        "Every error: a one-line `detail`, a stable `code` and every problem found, located. Some errors add "
        "keys (a job's `status` on a 409, the `limit` and `setting` a request went over)."
    ),
    "properties": {
        "detail": {"type": "string"},
        "code": {"type": "string"},
        "errors": {"type": "array", "items": {"$ref": "#/components/schemas/ErrorItem"}},
    },
    "required": ["detail", "code", "errors"],
    "additionalProperties": True,
}


def filter_expression_schemas() -> dict[str, dict]:
    """The expressions of the filter spec (http-api.md §2), one component each."""

    def expression(kind: list[str], properties: dict, required: list[str], description: str) -> dict:
        return {
            "type": "object",
            "description": description,
            "properties": {
                "type": {"allOf": [{"type": "string", "enum": kind}]},  # allOf: kept off the enum hook
                **properties,
                "invert": {"type": "boolean", "description": "logical NOT"},
            },
            "required": ["type", *required],
            "additionalProperties": False,
        }

    field = {"type": "string", "description": "a field of the resource's allow-list; dots follow relations"}
    case = {"type": "boolean"}
    field_ref = {"$ref": "#/components/schemas/FilterFieldExpression"}
    return {
        "FilterExact": expression(
            ["exact"],
            {
                "field": field,
                "value": {"oneOf": [{"type": "string"}, {"type": "number"}, {"type": "boolean"}]},
                "case_insensitive": case,
            },
            ["field", "value"],
            "The field equals the value.",
        ),
        "FilterContains": expression(
            ["contains"],
            {"field": field, "sub_string": {"type": "string", "minLength": 1}, "case_insensitive": case},
            ["field", "sub_string"],
            "The field's text contains the sub-string.",
        ),
        "FilterIsNull": expression(["isnull", "is_null"], {"field": field}, ["field"], "The field is null."),
        "FilterCompare": expression(
            ["compare"],
            {
                "field": field,
                "operator": {"type": "string", "enum": ["<", ">", "<=", ">="]},
                "value": {"oneOf": [{"type": "string"}, {"type": "number"}]},
            },
            ["field", "operator", "value"],
            "The field compared with the value.",
        ),
        "FilterFieldExpression": {
            "oneOf": [
                {"$ref": f"#/components/schemas/{name}"}
                for name in ("FilterExact", "FilterContains", "FilterIsNull", "FilterCompare")
            ]
        },
        "FilterAnd": expression(
            ["and"],
            {"sub_expressions": {"type": "array", "minItems": 2, "items": field_ref}},
            ["sub_expressions"],
            "Every sub-expression holds.",
        ),
        "FilterOr": expression(
            ["or"],
            {
                "sub_expressions": {
                    "type": "array",
                    "minItems": 2,
                    "items": {"oneOf": [field_ref, {"$ref": "#/components/schemas/FilterAnd"}]},
                }
            },
            ["sub_expressions"],
            "At least one sub-expression holds.",
        ),
        "FilterExpression": {
            "oneOf": [field_ref, {"$ref": "#/components/schemas/FilterAnd"}, {"$ref": "#/components/schemas/FilterOr"}]
        },
    }
