"""Answers written from kept bytes: a template's §3.1 item with its per-answer keys, arrays of them in
chunks, and get-all-parameters with the caller's visible values."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from django.conf import settings

from config.jsonbytes import dumps
from contracts.resident import VisibleEnums, schema_for
from contracts.types import parse_type
from jobtemplates.models import JobTemplate, TemplateKind
from jobtemplates.services.runnability import runnability
from jobtemplates.services.templates.representing import SEPARATOR, api_time, representations_ensure
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
    the full list's time). Reads like a JobTemplate where answers and verdicts read one."""

    def __init__(self, row: tuple) -> None:
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


def listed_rows(queryset) -> Iterator[ListedTemplate]:
    """The templates of ``queryset`` (in its order) as ``ListedTemplate``, fetched a chunk at a time."""
    for row in queryset.values_list(*LISTED_FIELDS).iterator(chunk_size=chunk_rows()):
        yield ListedTemplate(row)


def template_item(template: JobTemplate, verdict: Verdict, runners: dict[str, bytes] | None = None) -> bytes:
    """The §3.1 representation of ``template`` (loaded with ``kept_rows``, its kept row current)."""
    head, middle, rest = bytes(template.representation.detail).split(SEPARATOR)
    creator = _NULL if template.creator_id is None else str(template.creator_id).encode()
    deletion = _NULL if template.deletion_time is None else dumps(api_time(template.deletion_time))
    if template.is_meta:
        tail = b',"runner":"meta"'
    else:
        runners = {} if runners is None else runners
        runner = runners.get(template.executor_class)
        if runner is None:
            runner = runners[template.executor_class] = dumps(runner_for(template.executor_class))
        tail = b"".join(
            (
                b',"runner":',
                runner,
                b',"queue":',
                dumps(template.queue or None),
                b',"min_hardware_generation":',
                dumps(template.min_hardware_generation or None),
            )
        )
    return b"".join(
        (
            head,
            creator,
            middle,
            deletion,
            rest,
            tail,
            b',"runnable":',
            b"true" if verdict.runnable else b"false",
            b',"runnable_by":',
            dumps(verdict.runnable_by),
            b',"not_runnable_reason":',
            dumps(verdict.reason),
            b"}",
        )
    )


def template_answer(template: JobTemplate, *, fleet: Fleet) -> bytes:
    """One template's §3.1 answer (its kept row made first when it has none)."""
    representations_ensure([template])
    return template_item(template, runnability([template], fleet=fleet)[template.pk])


def template_chunks(templates: Iterable[JobTemplate], *, fleet: Fleet, size: int | None = None) -> Iterator[bytes]:
    """The items of ``templates`` (loaded with ``kept_rows``), ``size`` at a time, each chunk the items
    joined by commas: kept rows made and verdicts judged per chunk, in a constant number of queries."""
    size = size or chunk_rows()
    rows = iter(templates)
    runners: dict[str, bytes] = {}
    while batch := list(islice(rows, size)):
        representations_ensure(batch)
        verdicts = runnability(batch, fleet=fleet)
        chunk = b",".join([template_item(template, verdicts[template.pk], runners) for template in batch])
        for template in batch:
            # select_related links a model template and its kept row both ways: a cycle that only the
            # collector's rare full passes would free, so a long list would keep every chunk's rows.
            state = getattr(template, "_state", None)
            if state is not None:
                state.fields_cache.clear()
        del batch
        yield chunk


def kept_part(template: JobTemplate, part: str) -> bytes:
    """A kept answer of one template (``types``, ``outputs``, ``export``), made first when missing."""
    representations_ensure([template])
    return bytes(getattr(template.representation, part))


def parameters_answer(template: JobTemplate, *, user: Any) -> bytes:
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
