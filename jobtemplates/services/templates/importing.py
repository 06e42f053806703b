"""Template import: check everything, then version, dedupe and save in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Max

from config.errors import Conflict, InvalidRequest, MalformedRequest, Problem
from jobtemplates.models import JobTemplate, MetaDependency, MetaNode, Parameter
from jobtemplates.services.templates.checking import TemplateChecker
from jobtemplates.services.templates.drafts import TemplateDraft, draft_from_template
from jobtemplates.services.templates.representing import representations_keep

VERSION_RACE_RETRIES = 3


@dataclass
class ImportResult:
    """The template (saved, existing, or — when validating — unsaved), whether it is new, and warnings."""

    template: JobTemplate | None
    draft: TemplateDraft
    created: bool
    warnings: list[Problem] = field(default_factory=list)


def check_import_body(data: Any) -> tuple[TemplateDraft, list[Problem]]:
    """The checked draft and its warnings; raises 400 (not an object) or 422 with every problem."""
    checker = TemplateChecker(data)
    draft = checker.check()
    if draft is None:
        if not isinstance(data, dict):
            raise MalformedRequest("The template must be a JSON object.", problems=checker.problems)
        raise InvalidRequest("The template is invalid.", problems=checker.problems, code="invalid_template")
    return draft, checker.warnings


def template_validate(*, data: Any) -> ImportResult:
    """Answer what import would (problems raised, or the draft and warnings), saving nothing."""
    draft, warnings = check_import_body(data)
    existing = _existing(draft) if draft.version is not None else None
    if existing is not None:
        _require_identical(existing, draft)
        return ImportResult(template=existing, draft=draft, created=False, warnings=warnings)
    if draft.version is None:
        draft.version = _next_version(draft.name)
    return ImportResult(template=None, draft=draft, created=True, warnings=warnings)


def template_import(*, data: Any, creator, reuse_identical_latest: bool = False) -> ImportResult:
    """Import a template (http-api.md §3.3).

    No version → the next one (or, with ``reuse_identical_latest``, the newest active version when its
    content is identical: repeatable seeding). A version that exists among active templates → that
    template when the content is identical, else a 409. Concurrent imports of one name retry on the
    version race.
    """
    draft, warnings = check_import_body(data)
    auto_version = draft.version is None
    if auto_version and reuse_identical_latest:
        latest = _latest(draft.name)
        if latest is not None and draft_from_template(latest).content() == draft.content():
            return ImportResult(template=latest, draft=draft, created=False, warnings=warnings)
    for attempt in range(VERSION_RACE_RETRIES):
        try:
            with transaction.atomic():
                return _import_checked(draft, warnings, creator=creator, auto_version=auto_version)
        except IntegrityError:
            # Another import took this name+version meanwhile: number again, or compare with theirs.
            if attempt == VERSION_RACE_RETRIES - 1:
                raise
    raise AssertionError("unreachable")


def _import_checked(draft: TemplateDraft, warnings: list[Problem], *, creator, auto_version: bool) -> ImportResult:
    _lock_name(draft.name)
    if auto_version:
        draft.version = _next_version(draft.name)
    else:
        existing = _existing(draft)
        if existing is not None:
            _require_identical(existing, draft)
            return ImportResult(template=existing, draft=draft, created=False, warnings=warnings)
    return ImportResult(template=_save(draft, creator=creator), draft=draft, created=True, warnings=warnings)


def _lock_name(name: str) -> None:
    """Serialise imports of one name until the transaction ends, so concurrent version-less imports
    number themselves instead of colliding (SQLite's write lock already serialises every import)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"jobtemplate:{name}"])


def _next_version(name: str) -> int:
    highest = JobTemplate.objects.active().filter(name=name).aggregate(highest=Max("version"))["highest"]
    return (highest or 0) + 1


def _with_content(queryset):
    return queryset.select_related("domain", "licence", "project").prefetch_related(
        "parameters", "nodes__child", "dependencies"
    )


def _existing(draft: TemplateDraft) -> JobTemplate | None:
    return _with_content(JobTemplate.objects.active().filter(name=draft.name, version=draft.version)).first()


def _latest(name: str) -> JobTemplate | None:
    return _with_content(JobTemplate.objects.active().filter(name=name).order_by("-version")).first()


def _require_identical(existing: JobTemplate, draft: TemplateDraft) -> None:
    theirs, ours = draft_from_template(existing).content(), draft.content()
    if theirs == ours:
        return
    differing = sorted(key for key in ours if ours[key] != theirs.get(key))
    if "specific" in differing:
        differing.remove("specific")
        differing += sorted(
            f"specific.{key}" for key in ours["specific"] if ours["specific"][key] != theirs["specific"].get(key)
        )
    raise Conflict(
        f"{existing} exists with different content; import without a version to add the next one.",
        code="duplicate_version",
        problems=[Problem(path=path, code="differs", message=f"differs from {existing}") for path in differing],
        extra={"existing": existing.pk},
    )


def _save(draft: TemplateDraft, *, creator) -> JobTemplate:
    assert draft.version is not None  # the import numbered it (_import_checked)
    template = JobTemplate.objects.create(
        kind=draft.kind,
        name=draft.name,
        version=draft.version,
        description=draft.description,
        scope=draft.scope,
        domain=draft.domain,
        licence=draft.licence,
        project=draft.project,
        creator=creator if getattr(creator, "pk", None) else None,
        contract=draft.contract,
        contract_name=draft.contract_name,
        type_parameters=draft.type_parameters,
        contract_inputs=draft.contract_inputs,
        inputs=draft.inputs,
        outputs=draft.outputs,
        executor_class=draft.executor_class,
        required_packages=draft.required_packages,
        queue=draft.queue,
        min_hardware_generation=draft.min_hardware_generation,
    )
    Parameter.objects.bulk_create(
        Parameter(
            template=template,
            name=p.name,
            position=position,
            types=p.types,
            help=p.help,
            has_default=p.has_default,
            default=p.default,
            default_type=p.default_type,
            const=p.const,
        )
        for position, p in enumerate(draft.parameters)
    )
    MetaNode.objects.bulk_create(
        MetaNode(
            template=template,
            name=node.name,
            position=position,
            child=node.child,
            parameter_default_overrides=node.parameter_default_overrides,
        )
        for position, node in enumerate(draft.nodes)
    )
    MetaDependency.objects.bulk_create(
        MetaDependency(
            template=template,
            position=position,
            from_node=d.from_node,
            from_output=d.from_output,
            to_node=d.to_node,
            to_input=d.to_input,
        )
        for position, d in enumerate(draft.dependencies)
    )
    # Its answers, computed once (read back from the rows, so that they say what a read would).
    representations_keep(pks=[template.pk])
    return template
