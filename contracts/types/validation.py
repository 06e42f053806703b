"""Validation of JSON values against a type's structural schema, with located problems."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from jsonschema import Draft7Validator, validators

from contracts.types.model import Type
from contracts.types.parser import PARSE_CACHE_SIZE
from contracts.types.schemas import json_schema


@dataclass(frozen=True)
class ValueProblem:
    """One reason a value is not valid for a type.

    ``path`` locates it inside the value: ``""`` for the value itself, ``[2]`` for an array element,
    ``key.sub`` for object members (``items[2]`` = element 2 of member ``items``). ``keyword`` is the
    failing JSON-schema keyword (``type``, ``const``, ``maxItems``, ...), or ``binary``.
    """

    path: str
    message: str
    keyword: str = ""


def _is_integer(checker: Any, instance: Any) -> bool:
    # An int parameter must reach the executor as an int: 1.0 is a float here, and bools are never numbers.
    return isinstance(instance, int) and not isinstance(instance, bool)


def _is_number(checker: Any, instance: Any) -> bool:
    # A number must reach the executor as a float it can hold: an integer past the largest double
    # (10**400, which JSON allows) is not one.
    if isinstance(instance, bool):
        return False
    if isinstance(instance, int):
        return abs(instance) <= sys.float_info.max
    return isinstance(instance, float)


_StrictValidator = validators.extend(
    Draft7Validator,
    type_checker=Draft7Validator.TYPE_CHECKER.redefine_many({"integer": _is_integer, "number": _is_number}),
)


def validate_value(type_: Type, value: Any) -> list[ValueProblem]:
    """The problems of a JSON value for a type (empty when valid).

    Server-resident references (``PK``, ``Name``, ``JobOutput``) get only the structural check (a
    positive integer / a string): existence, filters and visibility are the server's job.
    """
    validator = _validator_for(type_)
    if validator is None:
        return [ValueProblem("", f"values of {type_} are binary, not JSON", "binary")]
    return _problems(validator.iter_errors(value))


@lru_cache(maxsize=PARSE_CACHE_SIZE)
def _validator_for(type_: Type) -> Draft7Validator | None:
    schema = json_schema(type_)
    return None if schema is None else _StrictValidator(schema)


def _problems(errors: Iterable[Any]) -> list[ValueProblem]:
    problems = [
        ValueProblem(_format_path(error.absolute_path), _shortened(error.message), str(error.validator))
        for error in errors
    ]
    problems.sort(key=lambda problem: (problem.path, problem.keyword, problem.message))
    return problems


MESSAGE_MAX_CHARS = 300


def _shortened(message: str) -> str:
    """jsonschema's message quotes the value: a huge one (a 4,000-digit number, a long string) is cut."""
    if len(message) <= MESSAGE_MAX_CHARS:
        return message
    half = MESSAGE_MAX_CHARS // 2
    return f"{message[:half]}…{message[-half:]}"


def _format_path(parts: Iterable[str | int]) -> str:
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else part
    return path
