"""A template's answers computed once and kept as JSON bytes (``TemplateRepresentation``), and the
documents they are made of (http-api.md §3.1, §3.5).

A template version is immutable, so what its answers say is computed once, when it is imported (or on
the first read of a template imported before the table existed, or whose kept row was dropped), and kept
in the database, where every process finds it after a restart. What may change after import is not kept
but spliced in per answer (``jobtemplates.representations``): ``creator`` (null once the user is
deleted), ``deletion_time`` (soft delete and reinstate), the runner and routing (settings) and the
runnability keys (the fleet). What is kept but read from other rows is dropped when those rows change
(``jobtemplates.representations.invalidation``: a domain's name, a licence's name). A kept row made by
other code or settings (``fingerprint``) is made again when read.
"""

from __future__ import annotations

import datetime
import functools
import hashlib
import re
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils import timezone

import contracts.types
from config.jsonbytes import dumps, iso_datetime
from contracts.resident import NoResidentBinding, VisibleEnums, resident_target, schema_for
from contracts.types import NamedType, parse_type
from jobtemplates.models import JobTemplate, TemplateRepresentation
from jobtemplates.services.runnability import VERDICT_FIELDS
from jobtemplates.services.templates.drafts import TemplateDraft, draft_from_template
from jobtemplates.services.templates.exporting import template_export
from runners.capabilities import Verdict
from runners.routing import runner_for


def api_time(value: datetime.datetime) -> str:
    """A stored datetime as the API writes it (DRF's DateTimeField: in the current time zone, ISO 8601, Z)."""
    if settings.USE_TZ and timezone.is_aware(value):
        value = value.astimezone(timezone.get_current_timezone())
    return iso_datetime(value)


# --- the documents ---------------------------------------------------------------------------------


def template_representation(
    template: JobTemplate | None, draft: TemplateDraft | None = None, *, verdict: Verdict
) -> dict[str, Any]:
    """The §3.1 representation; ``draft`` alone (no saved row) serves ``validate``. ``verdict`` is the
    template's runnability (jobtemplates.services.runnability: one fleet snapshot per answer)."""
    if draft is None:
        if template is None:
            raise TypeError("template_representation needs a template or a draft")
        draft = draft_from_template(template)
    data: dict[str, Any] = {
        "pk": template.pk if template else None,
        "name": draft.name,
        "version": draft.version,
        "description": draft.description,
        "scope": draft.scope,
        "domain": draft.domain.name if draft.domain else None,
        "licence": draft.licence.pk,
        "creator": template.creator_id if template else None,
        "creation_time": api_time(template.creation_time) if template else None,
        "deletion_time": (api_time(template.deletion_time) if template and template.deletion_time else None),
        "type": draft.contract or None,
    }
    if not draft.is_meta:
        data["executor_class"] = draft.executor_class
        data["required_packages"] = draft.required_packages
    data["parameters"] = {parameter.name: parameter.export() for parameter in draft.parameters}
    # Ours, added (clients ignore unknown keys).
    data["kind"] = draft.kind
    data["project"] = draft.project.pk if draft.project else None
    data["inputs"] = draft.inputs
    data["outputs"] = draft.outputs
    if draft.is_meta:
        data["graph"] = draft.specific()
        data["runner"] = "meta"
    else:
        data["runner"] = runner_for(draft.executor_class)
        data["queue"] = draft.queue or None
        data["min_hardware_generation"] = draft.min_hardware_generation or None
    data["runnable"] = verdict.runnable
    data["runnable_by"] = verdict.runnable_by
    data["not_runnable_reason"] = verdict.reason
    return data


def parameters_representation(template: JobTemplate, *, user, enums: Any = None) -> dict[str, Any]:
    """get-all-parameters (§3.5): each type with its schema, the default nested with its own schema.

    ``enums`` is the schemas' resolver: by default the caller's ``VisibleEnums`` (one query per distinct
    reference type); the kept skeleton passes one that marks where the caller's values go."""
    schemas: dict[str, Any] = {}
    # Row types keep their object schema (UFDL's answer and the spec's); PK/Name/JobOutput list the
    # caller's visible rows.
    enums = VisibleEnums(user=user) if enums is None else enums

    def schema(text: str) -> Any:
        # A template often lists one type under several parameters: build each schema once.
        if text not in schemas:
            schemas[text] = schema_for(parse_type(text), user=user, enums=enums)
        return schemas[text]

    answer: dict[str, Any] = {}
    for parameter in template.parameter_list():
        entry: dict[str, Any] = {"types": {text: schema(text) for text in parameter.types}, "help": parameter.help}
        if parameter.has_default:
            entry["default"] = {
                "value": parameter.default,
                "type": parameter.default_type,
                "schema": schema(parameter.default_type),
                "const": parameter.const,
            }
        answer[parameter.name] = entry
    return answer


# --- kept rows ------------------------------------------------------------------------------------

# Bump when what is kept changes shape: rows of another format are made again when read.
FORMAT = 1
# Kept bytes hold no NUL byte (JSON escapes it in strings): it separates the parts spliced per answer.
SEPARATOR = b"\x00"
# Per-answer keys of the §3.1 representation (after the kept ones, in this order).
PER_ANSWER_KEYS = ("runner", "queue", "min_hardware_generation", "runnable", "runnable_by", "not_runnable_reason")
# What an answer reads of a template besides its kept bytes: the verdict's columns and the spliced ones.
ANSWER_FIELDS = (*VERDICT_FIELDS, "creator", "deletion_time")
KEPT_PARTS = ("detail", "parameters", "types", "outputs", "export")


def fingerprint() -> str:
    """What the kept bytes depend on besides the template: their format, the code that writes them (the
    type language's schemas, the documents) and the time zone of their times."""
    return f"{FORMAT}|{_code_stamp()}|{settings.TIME_ZONE}"[:64]


@functools.cache
def _code_stamp() -> str:
    # A deployment that changes how schemas or documents are written makes its kept rows again, without
    # anyone remembering to bump FORMAT: a digest of the sources they come from, the same in every process.
    digest = hashlib.sha256()
    folders = [Path(contracts.types.__file__).parent, Path(__file__).parent]  # the type language's, and ours
    for path in sorted(path for folder in folders for path in folder.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def kept_rows(queryset, *, parts: Iterable[str] = ("detail",)):
    """``queryset`` reading only what answers need: the answer fields and the kept ``parts``."""
    kept = [f"representation__{part}" for part in ("fingerprint", *parts)]
    return queryset.select_related("representation").only(*ANSWER_FIELDS, *kept)


def kept_of(template: JobTemplate) -> TemplateRepresentation | None:
    """The template's kept row when it is current (loaded with ``kept_rows``), else None."""
    try:
        kept = template.representation
    except TemplateRepresentation.DoesNotExist:
        return None
    return kept if kept is not None and kept.fingerprint == fingerprint() else None


def representations_ensure(templates: list[JobTemplate]) -> None:
    """Make sure every template of ``templates`` (loaded with ``kept_rows``) has a current kept row:
    the missing ones are computed (their content in four queries) and saved (one query)."""
    missing = [template.pk for template in templates if kept_of(template) is None]
    if not missing:
        return
    made = {kept.template_id: kept for kept in representations_keep(pks=missing)}
    for template in templates:
        if template.pk in made:
            template.representation = made[template.pk]


def representations_keep(*, pks: list[int]) -> list[TemplateRepresentation]:
    """Compute and save the kept rows of the templates ``pks`` (replacing any), in a constant number of queries."""
    full = JobTemplate.objects.filter(pk__in=pks).select_related("domain", "licence", "project").with_content()
    rows = [representation_of(template) for template in full]
    TemplateRepresentation.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["template"], update_fields=["fingerprint", *KEPT_PARTS]
    )
    return rows


def representations_refresh(*, everything: bool = False, batch: int = 500) -> Iterator[int]:
    """Make again the kept rows that are missing or were made by other code or settings (another
    fingerprint), ``batch`` templates at a time; with ``everything``, every template's. Yields how many
    each batch made, so a command can report progress. A deployment runs it after ``migrate``
    (``manage.py keep_representations``), so that the first list after an upgrade does not make them all."""
    current = fingerprint()
    templates = JobTemplate.objects.order_by("pk")
    if not everything:
        kept_current = TemplateRepresentation.objects.filter(fingerprint=current).values("template_id")
        templates = templates.exclude(pk__in=kept_current)
    pks = list(templates.values_list("pk", flat=True))
    for start in range(0, len(pks), batch):
        yield len(representations_keep(pks=pks[start : start + batch]))


def representations_drop(*, templates) -> int:
    """Drop the kept rows of ``templates`` (a queryset): they are made again when next read."""
    return TemplateRepresentation.objects.filter(template__in=templates.values("pk")).delete()[0]


def representation_of(template: JobTemplate) -> TemplateRepresentation:
    """The kept row of a template loaded with its content (domain, licence, project, parameters, nodes)."""
    return TemplateRepresentation(
        template_id=template.pk,
        fingerprint=fingerprint(),
        detail=detail_bytes(template),
        parameters=parameters_skeleton(template),
        types=dumps(template.type_parameters),
        outputs=dumps(template.outputs),
        export=dumps(template_export(template=template)),
    )


def detail_bytes(template: JobTemplate) -> bytes:
    """The §3.1 representation without its per-answer keys and closing brace, in three parts (separated by
    NUL): up to ``"creator":``, from ``,"creation_time"`` to ``"deletion_time":``, and the rest."""
    data = template_representation(template, verdict=Verdict(False, "none"))
    for key in PER_ANSWER_KEYS:
        data.pop(key, None)
    nonce = uuid.uuid4().hex
    data["creator"], data["deletion_time"] = f"{nonce}:creator", f"{nonce}:deletion_time"
    rendered = dumps(data)
    assert rendered.endswith(b"}") and SEPARATOR not in rendered
    rendered = rendered[:-1].replace(f'"{nonce}:creator"'.encode(), SEPARATOR, 1)
    return rendered.replace(f'"{nonce}:deletion_time"'.encode(), SEPARATOR, 1)


class _Hole(list):
    """Where a reference type's visible values go (an empty enum until the answer is written)."""

    def __init__(self, type_: NamedType) -> None:
        super().__init__()
        self.type = type_


class _MarkingEnums:
    """The schemas' resolver of the kept skeleton: a hole wherever ``VisibleEnums`` would list rows."""

    user = None

    def enum(self, type_: NamedType) -> list[Any] | None:
        try:
            target = resident_target(type_)
        except NoResidentBinding:
            return None  # an abstract target: the structural schema stands, for every caller
        if target.lookup == "row":
            return None  # row types keep their object schema
        return _Hole(type_)


def parameters_skeleton(template: JobTemplate) -> bytes:
    """get-all-parameters with a hole per reference schema: the static JSON and the holes' type strings,
    alternately, separated by NUL (``jobtemplates.representations.answers.parameters_answer`` fills them)."""
    answer = parameters_representation(template, user=None, enums=_MarkingEnums())
    nonce = uuid.uuid4().hex
    holes: list[str] = []
    _mark_holes(answer, nonce, holes)
    rendered = dumps(answer)
    assert SEPARATOR not in rendered
    parts = re.split(rb'"' + nonce.encode() + rb':(\d+)"', rendered)
    for index in range(1, len(parts), 2):
        parts[index] = holes[int(parts[index])].encode()
    return SEPARATOR.join(parts)


def _mark_holes(node: Any, nonce: str, holes: list[str]) -> None:
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in list(children):
        if isinstance(child, dict) and len(child) == 1 and isinstance(child.get("enum"), _Hole):
            node[key] = f"{nonce}:{len(holes)}"
            holes.append(str(child["enum"].type))
        else:
            _mark_holes(child, nonce, holes)
