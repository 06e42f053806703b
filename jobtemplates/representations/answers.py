"""Answers written from kept bytes: a template's §3.1 item with its per-answer keys, arrays of them in
chunks, and get-all-parameters with the caller's visible values."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db import connections
from django.db.models import BinaryField, Func

from config.jsonbytes import dumps
from contracts.resident import VisibleEnums, schema_for
from contracts.types import parse_type
from jobtemplates.models import TemplateKind, TemplateRepresentation
from jobtemplates.services.runnability import runnability
from jobtemplates.services.templates.representing import SEPARATOR, api_time, fingerprint, representations_ensure
from runners.capabilities import Fleet, Verdict
from runners.routing import runner_for

_NULL = b"null"


def chunk_rows() -> int:
    """Templates per chunk of a streamed array (and per batch of verdicts): API_STREAM_CHUNK_ROWS."""
    return max(1, int(getattr(settings, "API_STREAM_CHUNK_ROWS", 500)))


class KeptDetail:
    """The part of a kept row a list reads (``TemplateRepresentation``'s fingerprint and detail)."""

    __slots__ = ("detail", "fingerprint")

    def __init__(self, fingerprint: str, detail: bytes) -> None:
        self.fingerprint = fingerprint
        self.detail = detail


class ListedTemplate:
    """A template as a list reads it: the answer fields and its kept detail, from one row of
    ``listed_rows`` (no model instance: building 10,000 of them, and their kept rows, was a third of
    the full list's time). Reads like a JobTemplate where answers and verdicts read one. ``parts``: the
    kept detail's three static parts, when the database split them (else split when written)."""

    __slots__ = (
        "creator_id",
        "deletion_time",
        "executor_class",
        "id",
        "kind",
        "min_hardware_generation",
        "name",
        "parts",
        "pk",
        "queue",
        "representation",
        "required_packages",
        "version",
    )

    def __init__(self, row: tuple, parts: tuple[bytes, bytes, bytes] | None = None) -> None:
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
            self.deletion_time,
            fingerprint,
            detail,
        ) = row
        self.id = self.pk
        self.parts = parts
        self.representation = None if fingerprint is None else KeptDetail(fingerprint, detail)

    @property
    def is_meta(self) -> bool:
        return self.kind == TemplateKind.META

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


LISTED_FIELDS = (
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
    "representation__fingerprint",
    "representation__detail",
)
# LISTED_FIELDS that are strings (PostgreSQL's rows bring them as bytes: see ``_split_rows``).
_TEXT_COLUMNS = (1, 2, 4, 5, 6, 7, 10)


def listed_rows(queryset) -> Iterator[ListedTemplate]:
    """The templates of ``queryset`` (in its order) as ``ListedTemplate``, fetched a chunk at a time."""
    if connections[queryset.db].vendor == "postgresql":
        yield from _split_rows(queryset)
        return
    for row in queryset.values_list(*LISTED_FIELDS).iterator(chunk_size=chunk_rows()):
        yield ListedTemplate(row)


class _Decompressed(Func):
    """``detail || ''``: the kept bytes decompressed once, in the inner query, for the outer to split."""

    template = "(%(expressions)s || ''::bytea)"
    output_field = BinaryField()


# The outer statement of ``_split_rows``: the kept detail's three parts (NUL-separated) as text.
_NUL = r"'\x00'::bytea"
_FIRST = f"position({_NUL} IN q.x)"
_SECOND = f"position({_NUL} IN substring(q.x FROM {_FIRST} + 1))"
_SPLIT = (
    f"convert_from(substring(q.x FROM 1 FOR greatest({_FIRST} - 1, 0)), 'UTF8'), "
    f"convert_from(substring(q.x FROM {_FIRST} + 1 FOR greatest({_SECOND} - 1, 0)), 'UTF8'), "
    f"convert_from(substring(q.x FROM {_FIRST} + {_SECOND} + 1), 'UTF8')"
)
_COLUMNS = ", ".join(f"c{index}" for index in range(len(LISTED_FIELDS) - 1))


def _split_rows(queryset) -> Iterator[ListedTemplate]:
    """PostgreSQL: the rows with their kept detail decompressed once and split by the server, the parts
    read as text into bytes. A bytea column comes as hex, twice its size, which the server spent more
    time writing than decompressing: at 10,000 templates the fetch took 650 ms this way against 300."""
    inner = queryset.annotate(listed_detail=_Decompressed("representation__detail")).values_list(
        *LISTED_FIELDS[:-1], "listed_detail"
    )
    try:
        sql, params = inner.query.get_compiler(using=queryset.db).as_sql()
    except EmptyResultSet:
        return  # a filter nothing can match (``pk__in=[]``)
    if inner.query.low_mark == 0 and inner.query.high_mark is None:
        sql += " OFFSET 0"  # a fence: the planner would otherwise pull the decompression up, once per part
    import psycopg2.extensions  # PostgreSQL's driver (SQLite deployments may not have it)

    statement = f"SELECT {_COLUMNS}, {_SPLIT} FROM ({sql}) AS q({_COLUMNS}, x)"
    size = chunk_rows()
    with connections[queryset.db].chunked_cursor() as cursor:
        psycopg2.extensions.register_type(psycopg2.extensions.BYTES, cursor.cursor)
        cursor.execute(statement, params)
        while rows := cursor.fetchmany(size):
            for row in rows:
                values = list(row[:-3])
                for index in _TEXT_COLUMNS:
                    if values[index] is not None:
                        values[index] = values[index].decode()
                parts = None if row[-1] is None else row[-3:]
                yield ListedTemplate((*values, None), parts)
            if len(rows) < size:
                break  # the last chunk: no FETCH to learn that nothing follows


def template_item(template: Any, verdict: Verdict, runners: dict | None = None) -> bytes:
    """The §3.1 representation of ``template`` (loaded with ``kept_rows``, its kept row current)."""
    return b"".join(_item_parts(template, verdict, {} if runners is None else runners))


def _item_parts(template: Any, verdict: Verdict, tails: dict) -> tuple[bytes, ...]:
    """``template_item``'s pieces: the kept parts with the creator and the deletion time between them, and
    the per-answer tail (runner, routing, runnability), made once per distinct tail in ``tails``."""
    parts = getattr(template, "parts", None)
    head, middle, rest = parts if parts is not None else bytes(template.representation.detail).split(SEPARATOR)
    creator = _NULL if template.creator_id is None else str(template.creator_id).encode()
    deletion = _NULL if template.deletion_time is None else dumps(api_time(template.deletion_time))
    if template.is_meta:
        key: tuple = (verdict,)
    else:
        key = (verdict, template.executor_class, template.queue, template.min_hardware_generation)
    tail = tails.get(key)
    if tail is None:
        tail = tails[key] = _tail(template, verdict)
    return head, creator, middle, deletion, rest, tail


def _tail(template: Any, verdict: Verdict) -> bytes:
    if template.is_meta:
        routing = b',"runner":"meta"'
    else:
        routing = b"".join(
            (
                b',"runner":',
                dumps(runner_for(template.executor_class)),
                b',"queue":',
                dumps(template.queue or None),
                b',"min_hardware_generation":',
                dumps(template.min_hardware_generation or None),
            )
        )
    return b"".join(
        (
            routing,
            b',"runnable":',
            b"true" if verdict.runnable else b"false",
            b',"runnable_by":',
            dumps(verdict.runnable_by),
            b',"not_runnable_reason":',
            dumps(verdict.reason),
            b"}",
        )
    )


def template_answer(template: Any, *, fleet: Fleet) -> bytes:
    """One template's §3.1 answer (its kept row made first when it has none)."""
    representations_ensure([template])
    return template_item(template, runnability([template], fleet=fleet)[template.pk])


def template_chunks(templates: Iterable[Any], *, fleet: Fleet, size: int | None = None) -> Iterator[bytes]:
    """The items of ``templates`` (loaded with ``kept_rows``, or ``listed_rows``), ``size`` at a time,
    each chunk the items joined by commas: kept rows made and verdicts judged per chunk, in a constant
    number of queries; each chunk joined once from its items' pieces."""
    size = size or chunk_rows()
    rows = iter(templates)
    tails: dict = {}
    current = fingerprint()
    while batch := list(islice(rows, size)):
        stale = [template for template in batch if not _kept_current(template, current)]
        if stale:
            representations_ensure(stale)
            for template in stale:
                if isinstance(template, ListedTemplate):
                    template.parts = None  # the kept row was made again: its new detail is split when written
        verdicts = runnability(batch, fleet=fleet)
        pieces: list[bytes] = []
        for template in batch:
            if pieces:
                pieces.append(b",")
            pieces += _item_parts(template, verdicts[template.pk], tails)
            # select_related links a model template and its kept row both ways: a cycle that only the
            # collector's rare full passes would free, so a long list would keep every chunk's rows.
            state = getattr(template, "_state", None)
            if state is not None:
                state.fields_cache.clear()
        del batch
        yield b"".join(pieces)


def _kept_current(template: Any, current: str) -> bool:
    try:
        kept = template.representation
    except TemplateRepresentation.DoesNotExist:
        return False
    return kept is not None and kept.fingerprint == current


def kept_part(template: Any, part: str) -> bytes:
    """A kept answer of one template (``types``, ``outputs``, ``export``), made first when missing.
    ``template``: a ``JobTemplate`` loaded with ``kept_rows``, or a ``OneTemplate`` (single.py) whose
    kept part reads alike."""
    representations_ensure([template])
    return bytes(getattr(template.representation, part))


def parameters_answer(template: Any, *, user: Any) -> bytes:
    """get-all-parameters: the kept skeleton with the schemas of its reference types listing what
    ``user`` may use (one ``VisibleEnums``: a query per distinct reference type, none without one)."""
    representations_ensure([template])
    parts = bytes(template.representation.parameters).split(SEPARATOR)
    if len(parts) == 1:
        return parts[0]
    enums = VisibleEnums(user=user)
    filled: dict[bytes, bytes] = {}
    for index in range(1, len(parts), 2):
        text = parts[index]
        if text not in filled:
            filled[text] = dumps(schema_for(parse_type(text.decode()), user=user, enums=enums))
        parts[index] = filled[text]
    return b"".join(parts)
