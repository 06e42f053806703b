"""The filter spec of every ``POST …/list`` (http-api.md §2): parse, check against an allow-list, apply.

A spec is ``{"expressions": [...], "order_by": [...], "include_inactive": bool}``; every key is
optional. Parsing collects every problem with its path (``expressions[1].sub_expressions[0].field``)
and raises one ``MalformedRequest`` (400). Fields are an allow-list per resource (``FilterFields``),
resolved against the model so a dotted wire name (``domain.name``) maps to an ORM path
(``domain__name``) whose model field checks the value's type before any SQL runs.

Cost is linear in the spec: ``FILTER_MAX_EXPRESSIONS`` (every expression and sub-expression) and
``FILTER_MAX_ORDER_BY`` are checked before any per-expression work, each level's ``Q`` is built in one
step, and the queryset is filtered once. An expression that crosses a to-many relation becomes a
``pk IN (subquery)``: each such expression may match a different related row (§2: expressions narrow
in sequence, as chained ``filter()`` calls did) without one join per expression multiplying the rows.
Each subquery carries a no-op ``LIMIT``, a fence that keeps PostgreSQL from flattening it into the
outer join search (whose planning time grows exponentially: 16 such expressions took 7 s to plan,
fenced 0.07 s); at most ``FILTER_MAX_TO_MANY_EXPRESSIONS`` of them are taken per request.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.db.models import ForeignObjectRel, Q, QuerySet, Value
from django.db.models.functions import Cast, StrIndex
from django.db.models.lookups import GreaterThan

from config.errors import MalformedRequest, Problem, join_path

# A LIMIT no result reaches: it only stops the planner from pulling the subquery up (see above).
_SUBQUERY_FENCE = 2**63 - 1
COMPARE_LOOKUPS = {"<": "lt", ">": "gt", "<=": "lte", ">=": "gte"}
FIELD_EXPRESSION_TYPES = frozenset({"exact", "contains", "isnull", "is_null", "compare"})
LOGICAL_EXPRESSION_TYPES = frozenset({"and", "or"})
EXPRESSION_KEYS = {
    "exact": {"type", "field", "value", "case_insensitive", "invert"},
    "contains": {"type", "field", "sub_string", "case_insensitive", "invert"},
    "isnull": {"type", "field", "invert"},
    "is_null": {"type", "field", "invert"},
    "compare": {"type", "field", "operator", "value", "invert"},
    "and": {"type", "sub_expressions", "invert"},
    "or": {"type", "sub_expressions", "invert"},
}
SPEC_KEYS = {"expressions", "order_by", "include_inactive"}
ORDER_KEYS = {"field", "ascending", "nulls_first"}


@dataclass(frozen=True)
class FilterField:
    """One allowed field: its wire name, ORM path, the model field at its end, and whether the path
    crosses a to-many relation (then filtered lists need ``distinct()``)."""

    name: str
    orm_path: str
    model_field: models.Field
    crosses_many: bool


class FilterFields:
    """The allow-list of one resource: wire names (dotted for relations) resolved lazily on ``model``.

    ``aliases`` maps a wire name to an ORM path when they differ (e.g. ``{"licence.name": "licence__name"}``
    is derived automatically; ``{"type": "contract"}`` is an alias).

    ``null_tests`` maps a wire name that only an ``isnull`` expression may use to the condition under
    which it "is null": UFDL's multi-table models answered ``template.workabletemplate`` isnull for
    templates that are not workable; ours keep both kinds in one table, so that is
    ``~Q(template__kind="workable")`` (``invert`` negates it as for any expression).
    """

    def __init__(
        self,
        model: type[models.Model],
        names: Iterable[str],
        aliases: Mapping[str, str] | None = None,
        null_tests: Mapping[str, Q] | None = None,
    ):
        self.model = model
        self.names = tuple(names)
        self.aliases = dict(aliases or {})
        self.null_tests = dict(null_tests or {})
        self._resolved: dict[str, FilterField] | None = None

    @property
    def fields(self) -> dict[str, FilterField]:
        if self._resolved is None:
            self._resolved = {name: self._resolve(name) for name in (*self.names, *self.aliases)}
        return self._resolved

    def _resolve(self, name: str) -> FilterField:
        orm_path = self.aliases.get(name, name.replace(".", "__"))
        model: type[models.Model] = self.model
        crosses_many = False
        parts = orm_path.split("__")
        field: models.Field | ForeignObjectRel | None = None
        for index, part in enumerate(parts):
            try:
                found = model._meta.pk if part == "pk" else model._meta.get_field(part)
            except FieldDoesNotExist as exc:
                raise LookupError(f"filter field {name!r}: {model.__name__} has no field {part!r}") from exc
            if not isinstance(found, models.Field | ForeignObjectRel):  # a generic foreign key (or no pk)
                raise LookupError(f"filter field {name!r}: {model.__name__}.{part} is not a column or a relation")
            field = found
            if field.is_relation:
                crosses_many = crosses_many or bool(field.many_to_many or field.one_to_many)
                related = field.related_model
                # Resolved once the apps are loaded (a class, not "self" or a label).
                assert isinstance(related, type) and issubclass(related, models.Model)
                if index < len(parts) - 1:
                    model = related
                else:
                    # A bare relation filters and orders by the related row's primary key.
                    target = getattr(field, "target_field", None)
                    field = target if target is not None else related._meta.pk
        assert isinstance(field, models.Field)  # a column (a relation ends at its target's)
        return FilterField(name=name, orm_path=orm_path, model_field=field, crosses_many=crosses_many)

    def get(self, name: str) -> FilterField | None:
        return self.fields.get(name)


@dataclass(frozen=True)
class FilterSpec:
    """A parsed, checked filter spec, ready to narrow and order a queryset."""

    filters: tuple[Q, ...]
    ordering: tuple[Any, ...]
    include_inactive: bool
    needs_distinct: bool

    def apply(self, queryset: QuerySet) -> QuerySet:
        # One filter() of one Q: each further filter() would clone the growing where-tree (quadratic).
        if self.filters:
            queryset = queryset.filter(Q(*self.filters))
        if self.needs_distinct:
            queryset = queryset.distinct()
        return queryset.order_by(*self.ordering, "pk")


class _SpecParser:
    """Walks a raw spec once, collecting problems instead of stopping at the first."""

    def __init__(self, fields: FilterFields):
        self.fields = fields
        self.problems: list[Problem] = []
        self.crosses_many = False
        self.to_many_fields = 0  # how many fields seen so far cross a to-many relation

    def problem(self, path: str, code: str, message: str) -> None:
        self.problems.append(Problem(path=path, code=code, message=message))

    def parse(self, raw: Any) -> FilterSpec:
        if raw is None or raw == "":
            raw = {}
        if not isinstance(raw, dict):
            self.problem("", "wrong_type", "the filter spec must be a JSON object")
            raise self.error()
        for key in sorted(set(raw) - SPEC_KEYS):
            self.problem(key, "unknown_key", f"unknown key {key!r}; allowed: {', '.join(sorted(SPEC_KEYS))}")
        self.check_sizes(raw)
        filters = self.expressions(raw.get("expressions", []), "expressions")
        ordering = self.order_by(raw.get("order_by", []), "order_by")
        include_inactive = raw.get("include_inactive", False)
        if not isinstance(include_inactive, bool):
            self.problem("include_inactive", "wrong_type", "must be a boolean")
        if self.problems:
            raise self.error()
        return FilterSpec(
            filters=tuple(filters),
            ordering=tuple(ordering),
            include_inactive=include_inactive,
            # Filters never join a to-many relation (they use subqueries); an ordering may.
            needs_distinct=self.crosses_many,
        )

    def error(self) -> MalformedRequest:
        return MalformedRequest("The filter spec is invalid.", problems=self.problems, code="invalid_filter_spec")

    def check_sizes(self, raw: dict) -> None:
        """Refuse a spec over the limits before any per-expression work (one cheap, iterative count)."""
        limit = settings.FILTER_MAX_EXPRESSIONS
        count = count_expressions(raw.get("expressions"), stop_after=limit)
        order_limit = settings.FILTER_MAX_ORDER_BY
        order_by = raw.get("order_by")
        order_count = len(order_by) if isinstance(order_by, list) else 0
        too_many_orderings = order_count > order_limit
        if count > limit:
            self.problem(
                "expressions",
                "too_many_expressions",
                f"at most {limit} expressions (sub-expressions included) per request (FILTER_MAX_EXPRESSIONS)",
            )
        if too_many_orderings:
            self.problem(
                "order_by",
                "too_many_order_by",
                f"at most {order_limit} order_by entries per request (FILTER_MAX_ORDER_BY); this one has {order_count}",
            )
        if count > limit or too_many_orderings:
            setting, value = ("FILTER_MAX_EXPRESSIONS", limit)
            if count <= limit:
                setting, value = ("FILTER_MAX_ORDER_BY", order_limit)
            raise MalformedRequest(
                f"The filter spec is over a limit ({setting} = {value}).",
                problems=self.problems,
                code="filter_spec_too_large",
                extra={"limit": value, "setting": setting},
            )

    # --- expressions ------------------------------------------------------------------------------

    def expressions(self, raw: Any, path: str) -> list[Q]:
        if not isinstance(raw, list):
            self.problem(path, "wrong_type", "must be a list of expressions")
            return []
        filters = []
        to_many = 0
        for index, item in enumerate(raw):
            to_many_before = self.to_many_fields
            q = self.expression(item, join_path(path, index), allowed=None)
            if q is None:
                continue
            if self.to_many_fields > to_many_before:
                # Its own subquery: it may match other related rows than the other expressions do.
                q = _related_subquery(self.fields.model, q)
                to_many += 1
                if to_many == settings.FILTER_MAX_TO_MANY_EXPRESSIONS + 1:
                    self.problem(
                        join_path(path, index),
                        "too_many_to_many_expressions",
                        f"at most {settings.FILTER_MAX_TO_MANY_EXPRESSIONS} expressions per request may use a "
                        "to-many field (FILTER_MAX_TO_MANY_EXPRESSIONS)",
                    )
            filters.append(q)
        return filters

    def expression(self, raw: Any, path: str, *, allowed: frozenset[str] | None) -> Q | None:
        if not isinstance(raw, dict):
            self.problem(path, "wrong_type", "an expression must be a JSON object")
            return None
        kind = raw.get("type")
        if not isinstance(kind, str) or kind not in EXPRESSION_KEYS:
            self.problem(
                join_path(path, "type"),
                "unknown_expression",
                f"unknown expression type {kind!r}; expected one of {', '.join(sorted(EXPRESSION_KEYS))}",
            )
            return None
        if allowed is not None and kind not in allowed:
            self.problem(join_path(path, "type"), "not_allowed_here", f"a {kind!r} expression is not allowed here")
            return None
        for key in sorted(set(raw) - EXPRESSION_KEYS[kind]):
            self.problem(join_path(path, key), "unknown_key", f"unknown key {key!r} for a {kind!r} expression")
        invert = raw.get("invert", False)
        if not isinstance(invert, bool):
            self.problem(join_path(path, "invert"), "wrong_type", "must be a boolean")
        q = (
            self.logical(kind, raw, path)
            if kind in LOGICAL_EXPRESSION_TYPES
            else self.field_expression(kind, raw, path)
        )
        if q is None:
            return None
        return ~q if invert is True else q

    def logical(self, kind: str, raw: dict, path: str) -> Q | None:
        subs_path = join_path(path, "sub_expressions")
        subs = raw.get("sub_expressions")
        if not isinstance(subs, list):
            self.problem(subs_path, "required" if subs is None else "wrong_type", "must be a list of expressions")
            return None
        if len(subs) < 2:
            self.problem(subs_path, "too_few", f"an {kind!r} expression needs at least 2 sub-expressions")
        # `and` holds field expressions; `or` holds field expressions or `and`s (UFDL's nesting rules).
        allowed = FIELD_EXPRESSION_TYPES if kind == "and" else FIELD_EXPRESSION_TYPES | {"and"}
        parsed = [self.expression(item, join_path(subs_path, i), allowed=allowed) for i, item in enumerate(subs)]
        if any(q is None for q in parsed) or not parsed:
            return None
        # One node for the whole level: folding pairwise (a & b & c …) copies the children each time.
        return Q(*parsed, _connector=Q.AND if kind == "and" else Q.OR)

    def field_expression(self, kind: str, raw: dict, path: str) -> Q | None:
        name = raw.get("field")
        if isinstance(name, str) and name in self.fields.null_tests:
            if kind in ("isnull", "is_null"):
                return self.fields.null_tests[name]
            self.problem(join_path(path, "field"), "isnull_only", f"{name!r} can only be tested with 'isnull'")
            return None
        field = self.field(name, join_path(path, "field"))
        case_insensitive = raw.get("case_insensitive", False)
        if not isinstance(case_insensitive, bool):
            self.problem(join_path(path, "case_insensitive"), "wrong_type", "must be a boolean")
            case_insensitive = False
        if kind == "exact":
            value = self.value(raw, path, field, allow_bool=True)
            if field is None or value is _MISSING:
                return None
            lookup = "iexact" if case_insensitive else "exact"
            return Q(**{f"{field.orm_path}__{lookup}": value})
        if kind == "contains":
            sub_path = join_path(path, "sub_string")
            sub_string = raw.get("sub_string")
            if not isinstance(sub_string, str) or not sub_string:
                self.problem(
                    sub_path,
                    "required" if sub_string is None else "wrong_type",
                    "must be a string of at least 1 character",
                )
                return None
            if field is None:
                return None
            if case_insensitive:
                return Q(**{f"{field.orm_path}__icontains": sub_string})
            # Not the `contains` lookup: SQLite's LIKE ignores ASCII case. STRPOS/instr never do.
            return Q(GreaterThan(StrIndex(Cast(field.orm_path, models.TextField()), Value(sub_string)), 0))
        if kind in ("isnull", "is_null"):
            return None if field is None else Q(**{f"{field.orm_path}__isnull": True})
        # compare
        operator = raw.get("operator")
        if operator not in COMPARE_LOOKUPS:
            self.problem(
                join_path(path, "operator"),
                "required" if operator is None else "invalid_choice",
                f"must be one of {', '.join(COMPARE_LOOKUPS)}",
            )
        value = self.value(raw, path, field, allow_bool=False)
        if field is None or value is _MISSING or operator not in COMPARE_LOOKUPS:
            return None
        return Q(**{f"{field.orm_path}__{COMPARE_LOOKUPS[operator]}": value})

    def field(self, name: Any, path: str) -> FilterField | None:
        if not isinstance(name, str):
            self.problem(path, "required" if name is None else "wrong_type", "must be a field name (string)")
            return None
        field = self.fields.get(name)
        if field is None:
            if name in self.fields.null_tests:
                self.problem(path, "isnull_only", f"{name!r} can only be tested with 'isnull'")
                return None
            allowed = sorted({*self.fields.fields, *self.fields.null_tests})
            self.problem(path, "unknown_field", f"{name!r} is not a filterable field; allowed: {', '.join(allowed)}")
            return None
        if field.crosses_many:
            self.to_many_fields += 1
        return field

    def value(self, raw: dict, path: str, field: FilterField | None, *, allow_bool: bool) -> Any:
        value_path = join_path(path, "value")
        if "value" not in raw:
            self.problem(value_path, "required", "a value is required")
            return _MISSING
        value = raw["value"]
        scalar_types = (str, int, float, bool) if allow_bool else (str, int, float)
        if not isinstance(value, scalar_types) or (not allow_bool and isinstance(value, bool)):
            kinds = "a string, number or boolean" if allow_bool else "a string or number"
            self.problem(value_path, "wrong_type", f"must be {kinds}")
            return _MISSING
        if field is None:
            return _MISSING
        return self.coerce(value, field, value_path)

    def coerce(self, value: Any, field: FilterField, path: str) -> Any:
        """Check the value against the model field so a mismatch is a 400, not a database error."""
        model_field = field.model_field
        if isinstance(value, float) and isinstance(model_field, models.IntegerField | models.AutoField):
            if not value.is_integer():
                self.problem(path, "wrong_type", f"{field.name!r} holds integers; {value!r} is not one")
                return _MISSING
            value = int(value)
        if isinstance(value, float) and not math.isfinite(value):
            self.problem(path, "invalid_value", "must be a finite number")
            return _MISSING
        if isinstance(model_field, models.BooleanField) and not isinstance(value, bool):
            self.problem(path, "wrong_type", f"{field.name!r} holds booleans")
            return _MISSING
        if isinstance(value, bool) and not isinstance(model_field, models.BooleanField):
            self.problem(path, "wrong_type", f"{field.name!r} does not hold booleans")
            return _MISSING
        try:
            return model_field.to_python(value)
        except (ValidationError, TypeError, ValueError, OverflowError):
            self.problem(path, "invalid_value", f"{value!r} is not a valid value for {field.name!r}")
            return _MISSING

    # --- ordering ---------------------------------------------------------------------------------

    def order_by(self, raw: Any, path: str) -> list[Any]:
        if not isinstance(raw, list):
            self.problem(path, "wrong_type", "must be a list of {field, ascending, nulls_first}")
            return []
        ordering = []
        for index, item in enumerate(raw):
            item_path = join_path(path, index)
            if not isinstance(item, dict):
                self.problem(item_path, "wrong_type", "must be an object {field, ascending?, nulls_first?}")
                continue
            for key in sorted(set(item) - ORDER_KEYS):
                self.problem(join_path(item_path, key), "unknown_key", f"unknown key {key!r}")
            field = self.field(item.get("field"), join_path(item_path, "field"))
            ascending = item.get("ascending", True)
            if not isinstance(ascending, bool):
                self.problem(join_path(item_path, "ascending"), "wrong_type", "must be a boolean")
            nulls_first = item.get("nulls_first")
            if nulls_first is not None and not isinstance(nulls_first, bool):
                self.problem(join_path(item_path, "nulls_first"), "wrong_type", "must be a boolean")
                nulls_first = None
            if field is None or not isinstance(ascending, bool):
                continue
            self.crosses_many = self.crosses_many or field.crosses_many
            expression = models.F(field.orm_path)
            nulls = (
                {"nulls_first": True} if nulls_first is True else {"nulls_last": True} if nulls_first is False else {}
            )
            ordering.append(expression.asc(**nulls) if ascending else expression.desc(**nulls))
        return ordering


_MISSING = object()


def _related_subquery(model: type[models.Model], q: Q) -> Q:
    """``pk IN (rows matching q)``, fenced (see the module docstring)."""
    return Q(pk__in=model._base_manager.filter(q).values("pk")[:_SUBQUERY_FENCE])


def count_expressions(raw: Any, *, stop_after: int) -> int:
    """How many expressions and sub-expressions ``raw`` (an ``expressions`` list) holds, counting every
    item of every list; iterative, and stops once past ``stop_after`` (so its cost is bounded too)."""
    count = 0
    pending = [raw]
    while pending:
        items = pending.pop()
        if not isinstance(items, list):
            continue
        count += len(items)
        if count > stop_after:
            return count
        pending.extend(item.get("sub_expressions") for item in items if isinstance(item, dict))
    return count


def parse_filter_spec(raw: Any, fields: FilterFields) -> FilterSpec:
    """Parse and check ``raw`` (the request body) against ``fields``; raises ``MalformedRequest``."""
    return _SpecParser(fields).parse(raw)


def parse_query_filters(params: Mapping[str, str], mapping: Mapping[str, str], fields: FilterFields) -> FilterSpec:
    """The simple ``?name=&domain=`` filters of GET lists: each parameter an exact match on a field of
    the allow-list (``mapping``: parameter → field name). Bad values are a 400 naming ``query.<param>``."""
    parser = _SpecParser(fields)
    filters: list[Q] = []
    for param, field_name in mapping.items():
        raw = params.get(param)
        if raw is None or raw == "":
            continue
        field = fields.get(field_name)
        if field is None:  # a wiring mistake in the viewset, not the client's
            raise LookupError(f"query filter {param!r} names {field_name!r}, which is not in the allow-list")
        value: Any = raw
        if isinstance(field.model_field, models.BooleanField):
            value = {"true": True, "1": True, "false": False, "0": False}.get(raw.lower(), raw)
        value = parser.coerce(value, field, f"query.{param}")
        if value is not _MISSING:
            q = Q(**{field.orm_path: value})
            if field.crosses_many:
                q = _related_subquery(fields.model, q)
            filters.append(q)
    if parser.problems:
        raise MalformedRequest("A query parameter is invalid.", problems=parser.problems, code="invalid_query")
    return FilterSpec(filters=tuple(filters), ordering=(), include_inactive=False, needs_distinct=False)
