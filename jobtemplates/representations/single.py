"""One template's row for the answers of a single template (retrieve, get-types, get-outputs, export,
get-all-parameters), read with one statement whose SQL is compiled once per process.

A one-row read through the ORM spent about a millisecond of Python per request building and compiling
``select_related(...).only(...)`` with the caller's visibility filter: as much again as the request's
whole floor. The statement's shape depends only on the kept part read and on whether the visibility
filter applies (admins and the system see every template), so it is compiled by the ORM once per
shape (the same ``template_visible_to`` rule, so nothing about visibility is written twice) with
sentinel values where the template's and the caller's pks go, and each request runs that SQL with its
own values. The row comes back as a :class:`OneTemplate`, which reads like a ``JobTemplate`` where
answers, kept rows and verdicts read one.
"""

from __future__ import annotations

import datetime
import functools
import weakref
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connections
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from jobtemplates.models import JobTemplate, TemplateKind
from jobtemplates.selectors import template_visible_to

# Parts of a kept row an answer of one template reads (TemplateRepresentation's columns).
PARTS = frozenset({"detail", "parameters", "types", "outputs", "export"})
# What a single answer reads of the template itself, in the statement's order.
FIELDS = (
    "id",
    "kind",
    "name",
    "version",
    "executor_class",
    "required_packages",
    "queue",
    "min_hardware_generation",
    "creator_id",
    "deletion_time",
)
# Stand-ins compiled into the statement where the request's values go: negative, so never a real pk,
# and unlike every constant the visibility filter compiles in.
_PK_SENTINEL = -7_351_902_468_117
_USER_SENTINEL = -9_184_063_275_531
_MAX_PK = 2**63 - 1


class KeptPart:
    """The part of a kept row an answer reads: its fingerprint and one kept column (by its name)."""

    def __init__(self, fingerprint: str, part: str, value: Any) -> None:
        self.fingerprint = fingerprint
        setattr(self, part, value)


class OneTemplate:
    """A template as a single answer reads it (no model instance), with its kept part when it has one."""

    def __init__(self, row: tuple, part: str) -> None:
        (
            self.pk,
            self.kind,
            self.name,
            self.version,
            self.executor_class,
            self.required_packages,
            self.queue,
            self.min_hardware_generation,
            self.creator_id,
            deletion_time,
            fingerprint,
            kept,
        ) = row
        self.id = self.pk
        self.deletion_time = _aware(deletion_time)
        self.representation = None if fingerprint is None else KeptPart(fingerprint, part, kept)

    @property
    def is_meta(self) -> bool:
        return self.kind == TemplateKind.META

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


def template_one(*, pk: Any, user: Any, part: str = "detail", using: str = "default") -> OneTemplate | None:
    """The template ``pk`` if ``user`` may see it (soft-deleted ones included), with its kept ``part``;
    None when there is no such template for them (a pk that is not a positive 64-bit integer included)."""
    if part not in PARTS:
        raise ValueError(f"unknown kept part {part!r}")
    number = _as_pk(pk)
    if number is None:
        return None
    staff = user is None or bool(user.is_staff)
    if not staff and not user.is_authenticated:
        return None
    sql, params = _statement(part, staff, using)
    values = [number if value == _PK_SENTINEL else user.pk if value == _USER_SENTINEL else value for value in params]
    with connections[using].cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    return None if row is None else OneTemplate(row, part)


def template_instance(*, pk: Any, user: Any, using: str = "default") -> JobTemplate | None:
    """The template ``pk`` as a model instance (its own columns: what create-job reads) if ``user`` may
    see it, soft-deleted ones included; None otherwise. One statement compiled once per process, its
    values converted as the ORM converts them (JSON, datetimes)."""
    number = _as_pk(pk)
    if number is None:
        return None
    staff = user is None or bool(user.is_staff)
    if not staff and not user.is_authenticated:
        return None
    sql, params = _instance_statement(staff, using)
    values = [number if value == _PK_SENTINEL else user.pk if value == _USER_SENTINEL else value for value in params]
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        row = cursor.fetchone()
    if row is None:
        return None
    row = list(row)
    for index, converters, column in _converters_of(connection):
        for converter in converters:
            row[index] = converter(row[index], column, connection)
    return JobTemplate.from_db(using, _INSTANCE_FIELDS, row)


_INSTANCE_FIELDS = [field.attname for field in JobTemplate._meta.concrete_fields]
# A connection's converters of the instance's columns (backend's and fields' own), made once per
# connection object (they are bound to it; connections are per thread).
_CONVERTERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _converters_of(connection: Any) -> list[tuple[int, list, Any]]:
    found = _CONVERTERS.get(connection)
    if found is None:
        found = []
        table = JobTemplate._meta.db_table
        for index, field in enumerate(JobTemplate._meta.concrete_fields):
            column = field.get_col(table)
            # Field.get_db_converters is Django's (the stubs leave it out).
            field_converters = field.get_db_converters(connection)  # type: ignore[attr-defined]
            converters = connection.ops.get_db_converters(column) + field_converters
            if converters:
                found.append((index, converters, column))
        _CONVERTERS[connection] = found
    return found


@functools.lru_cache(maxsize=8)
def _instance_statement(staff: bool, using: str) -> tuple[str, tuple]:
    user = None if staff else get_user_model()(pk=_USER_SENTINEL, is_staff=False, is_active=True)
    queryset = template_visible_to(user=user, queryset=JobTemplate.objects.using(using)).filter(pk=_PK_SENTINEL)
    sql, params = queryset.values_list(*_INSTANCE_FIELDS).query.sql_with_params()
    if _PK_SENTINEL not in params or (not staff and _USER_SENTINEL not in params):
        raise AssertionError("the visibility filter no longer compiles the caller's pk as a parameter")
    return sql, tuple(params)


@functools.lru_cache(maxsize=32)
def _statement(part: str, staff: bool, using: str) -> tuple[str, tuple]:
    """The SQL (and its parameters, sentinels included) of one template's row for ``part``."""
    user = None if staff else get_user_model()(pk=_USER_SENTINEL, is_staff=False, is_active=True)
    queryset = template_visible_to(user=user, queryset=JobTemplate.objects.using(using)).filter(pk=_PK_SENTINEL)
    columns = (*FIELDS, "representation__fingerprint", f"representation__{part}")
    sql, params = queryset.values_list(*columns).query.sql_with_params()
    if _PK_SENTINEL not in params or (not staff and _USER_SENTINEL not in params):
        raise AssertionError("the visibility filter no longer compiles the caller's pk as a parameter")
    return sql, tuple(params)


def _as_pk(pk: Any) -> int | None:
    try:
        number = int(pk)
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= _MAX_PK else None


def _aware(value: Any) -> datetime.datetime | None:
    """A datetime as the ORM would give it (SQLite's cursor gives text; PostgreSQL's an aware datetime)."""
    if value is None or isinstance(value, datetime.datetime) and (timezone.is_aware(value) or not settings.USE_TZ):
        return value
    parsed = value if isinstance(value, datetime.datetime) else parse_datetime(value)
    if parsed is not None and settings.USE_TZ and timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed, datetime.UTC)
    return parsed
