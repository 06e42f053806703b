"""Checking and resolving values of declared types: schema first, then the rows references name.

A value is walked along its type; every ``PK``/``Name``/``JobOutput`` reference and every row
object (also inside ``Array`` and ``Map``) is collected, then the rows are fetched with one query
per (target type, lookup) so a long array of pks costs no more than one. A row that does not
exist, does not match the type's filters or is not visible gives one and the same answer
(``not_found``), so a caller never learns that an invisible row exists.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Model

from config.errors import InvalidRequest, Problem, join_path
from contracts.resident.bindings import NoResidentBinding
from contracts.resident.rows import LookupKind, ResidentTarget, resident_target
from contracts.types import TYPE_CLASSES, NamedType, Type, validate_value

# Larger pks cannot exist (bigint primary keys) and would make the database refuse the query.
_MAX_PK = 2**63 - 1

Location = tuple[str | int, ...]


@dataclass
class _Reference:
    location: Location
    path: str
    target: ResidentTarget
    key: Any  # the pk (pk and row lookups) or the name
    problem: Problem | None = None  # set when the lookup fails


@dataclass
class _Outcome:
    problems: list[Problem] = field(default_factory=list)
    rows: dict[Location, Model] = field(default_factory=dict)


def value_problems(type_: Type, value: Any, *, user: Any, path: str) -> list[Problem]:
    """Everything wrong with ``value`` as a value of ``type_`` for ``user``, located under ``path``.

    First the JSON-schema check (code ``invalid_value``); when that passes, the rows named by
    references: ``not_found`` (absent, filtered out or invisible alike), ``ambiguous_name`` (a
    ``Name`` matching several visible rows), ``wrong_output_type`` (a visible job output whose type
    is not a subtype of the declared content).
    """
    return _check(type_, value, user=user, path=path).problems


def resolve_value(type_: Type, value: Any, *, user: Any) -> Any:
    """What an executor receives for ``value``: the model row for a ``PK``/``Name`` (a dataset row
    for ``PK<Dataset<…>>`` and ``Name<Dataset<…>>`` alike), the ``JobOutput`` row for
    ``JobOutput<…>``, the row for a row object, containers rebuilt around resolved elements, and the
    plain value otherwise. Raises ``InvalidRequest`` (422) with every problem when the value is invalid.
    """
    outcome = _check(type_, value, user=user, path="")
    if outcome.problems:
        raise InvalidRequest(problems=outcome.problems)
    return _rebuild(type_, value, (), outcome.rows)


def _check(type_: Type, value: Any, *, user: Any, path: str) -> _Outcome:
    return _check_many([(type_, value, path)], user=user)[0]


@dataclass(frozen=True)
class CheckedValue:
    """One value checked by ``values_check``: its problems, and the rows its references name."""

    problems: list[Problem]
    rows: list[Model]


def values_check(values: list[tuple[Type, Any, str]], *, user: Any) -> list[CheckedValue]:
    """``value_problems`` for many ``(type, value, path)`` at once, with the rows each value names.

    The references of all of them are fetched together: one query per (target type, lookup) over
    every value, so a request naming one dataset in each of ten parameters costs one query, not ten.
    """
    return [
        CheckedValue(problems=outcome.problems, rows=list(outcome.rows.values()))
        for outcome in _check_many(values, user=user)
    ]


def _check_many(values: list[tuple[Type, Any, str]], *, user: Any) -> list[_Outcome]:
    outcomes = [_Outcome() for _ in values]
    # References and shape problems in walk order, so problems come out in the order of the value.
    items: list[list[_Reference | Problem]] = [[] for _ in values]
    groups: dict[tuple[LookupKind, Type], list[_Reference]] = defaultdict(list)
    owner: dict[int, _Outcome] = {}
    for (type_, value, path), outcome, found in zip(values, outcomes, items, strict=True):
        schema_problems = validate_value(type_, value)
        if schema_problems:
            # A malformed value names no rows worth looking up; report its shape first.
            outcome.problems = [
                Problem(path=join_path(path, problem.path), code="invalid_value", message=problem.message)
                for problem in schema_problems
            ]
            continue
        _collect(type_, value, (), path, found)
        for item in found:
            if isinstance(item, _Reference):
                lookup: LookupKind = "name" if item.target.lookup == "name" else "pk"
                groups[(lookup, item.target.target)].append(item)
                owner[id(item)] = outcome
    for (lookup, _), group in groups.items():
        resolve = _resolve_names if lookup == "name" else _resolve_pks
        for ref, row in resolve(group, user):
            owner[id(ref)].rows[ref.location] = row
    for outcome, found in zip(outcomes, items, strict=True):
        for item in found:
            problem = item if isinstance(item, Problem) else item.problem
            if problem is not None:
                outcome.problems.append(problem)
    return outcomes


def _collect(type_: Type, value: Any, location: Location, path: str, out: list[_Reference | Problem]) -> None:
    if not isinstance(type_, NamedType):  # a literal
        return
    type_class = type_.type_class
    if type_class is TYPE_CLASSES["Array"] and isinstance(value, list):
        for index, element in enumerate(value):
            _collect(type_.args[0], element, (*location, index), join_path(path, index), out)
        return
    if type_class is TYPE_CLASSES["Map"] and isinstance(value, dict):
        for key, element in value.items():
            _collect(type_.args[0], element, (*location, key), join_path(path, key), out)
        return
    try:
        target = resident_target(type_)
    except NoResidentBinding:
        # Not a reference (str, JSON, …), or an abstract target whose rows cannot be named: the
        # schema check is all there is.
        return
    key = value
    if target.lookup == "row":
        key = value.get("pk") if isinstance(value, dict) else None
        if not _is_pk(key):
            out.append(
                Problem(path=path, code="invalid_value", message=f"a {type_} value is a row object with its integer pk")
            )
            return
    out.append(_Reference(location, path, target, key))


def _is_pk(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _resolve_pks(group: list[_Reference], user: Any) -> Iterator[tuple[_Reference, Model]]:
    target = group[0].target
    binding = target.binding
    keys = {ref.key for ref in group if 1 <= ref.key <= _MAX_PK}
    rows = binding.visible_to(binding.rows(), user)
    if binding.row_mismatch is None:
        rows = binding.matching(rows, target.target)
    found = {row.pk: row for row in rows.filter(pk__in=keys)} if keys else {}
    for ref in group:
        row = found.get(ref.key)
        if row is None:
            ref.problem = _not_found(ref, f"with pk {ref.key}")
            continue
        mismatch = binding.row_mismatch(row, target.target) if binding.row_mismatch else None
        if mismatch is not None:
            ref.problem = Problem(path=ref.path, code=mismatch.code, message=mismatch.message)
            continue
        yield ref, row


def _resolve_names(group: list[_Reference], user: Any) -> Iterator[tuple[_Reference, Model]]:
    target = group[0].target
    binding = target.binding
    name_rule = binding.name_rule
    assert name_rule is not None  # register_resident insists on it for named types
    # PostgreSQL refuses NUL characters in queries, and overlong names would only make the query
    # large: no row has such a name anyway.
    names = {ref.key for ref in group if "\x00" not in ref.key and len(ref.key) <= binding.longest_name}
    by_name: dict[str, list[Model]] = defaultdict(list)
    if names:
        condition = name_rule.lookup(names)
        rows = binding.matching(binding.visible_to(binding.rows(), user), target.target).filter(condition)
        for row in rows:
            by_name[binding.name_of(row)].append(row)
    for ref in group:
        matches = by_name.get(ref.key, [])
        if not matches:
            ref.problem = _not_found(ref, f"named {ref.key!r}")
        elif len(matches) > 1:
            pks = ", ".join(str(row.pk) for row in matches)
            message = (
                f"{len(matches)} {binding.noun} rows named {ref.key!r} match {target.target} (pks {pks}); use a pk"
            )
            ref.problem = Problem(path=ref.path, code="ambiguous_name", message=message)
        else:
            yield ref, matches[0]


def _not_found(ref: _Reference, which: str) -> Problem:
    target = ref.target
    # A binding with its own mismatch rule reports the type separately; not_found is about the row only.
    matching = "" if target.binding.row_mismatch else f" matching {target.target}"
    message = f"no {target.binding.noun} {which}{matching} is visible to you"
    return Problem(path=ref.path, code="not_found", message=message)


def _rebuild(type_: Type, value: Any, location: Location, rows: dict[Location, Model]) -> Any:
    if location in rows:
        return rows[location]
    if not isinstance(type_, NamedType):  # a literal
        return value
    type_class = type_.type_class
    if type_class is TYPE_CLASSES["Array"] and isinstance(value, list):
        return [_rebuild(type_.args[0], element, (*location, i), rows) for i, element in enumerate(value)]
    if type_class is TYPE_CLASSES["Map"] and isinstance(value, dict):
        return {key: _rebuild(type_.args[0], element, (*location, key), rows) for key, element in value.items()}
    return value
