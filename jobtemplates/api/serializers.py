"""Representations of templates (http-api.md §3.1, §3.5) — compat keys first, in UFDL's order."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from contracts.resident import VisibleEnums, schema_for
from contracts.types import parse_type
from jobtemplates.models import JobTemplate
from jobtemplates.services.runnability import runnability
from jobtemplates.services.templates.drafts import TemplateDraft, draft_from_template
from runners.capabilities import Verdict
from runners.routing import runner_for

RUNNABLE_BY = ["celery", "node", "mixed", "none"]


def template_representation(
    template: JobTemplate | None, draft: TemplateDraft | None = None, *, verdict: Verdict
) -> dict[str, Any]:
    """The §3.1 representation; ``draft`` alone (no saved row) serves ``validate``. ``verdict`` is the
    template's runnability (jobtemplates.services.runnability: one fleet snapshot per answer)."""
    draft = draft or draft_from_template(template)
    data: dict[str, Any] = {
        "pk": template.pk if template else None,
        "name": draft.name,
        "version": draft.version,
        "description": draft.description,
        "scope": draft.scope,
        "domain": draft.domain.name if draft.domain else None,
        "licence": draft.licence.pk,
        "creator": template.creator_id if template else None,
        "creation_time": serializers.DateTimeField().to_representation(template.creation_time) if template else None,
        "deletion_time": (
            serializers.DateTimeField().to_representation(template.deletion_time)
            if template and template.deletion_time
            else None
        ),
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


class TemplateSerializer(serializers.Serializer):
    """A job template (workable or meta), as UFDL clients read it, plus our added keys."""

    # OpenAPI (config.api.schema): one schema per kind, without the other kind's keys.
    schema_variants = (
        "kind",
        {"workable": ["graph"], "meta": ["executor_class", "required_packages", "queue", "min_hardware_generation"]},
    )

    pk = serializers.IntegerField(read_only=True)
    name = serializers.CharField(read_only=True)
    version = serializers.IntegerField(read_only=True)
    description = serializers.CharField(read_only=True)
    scope = serializers.ChoiceField(choices=["public", "user", "project"], read_only=True)
    domain = serializers.CharField(read_only=True, allow_null=True, help_text="the domain's 2-letter name")
    licence = serializers.IntegerField(read_only=True, help_text="the licence's pk")
    creator = serializers.IntegerField(read_only=True, allow_null=True)
    creation_time = serializers.DateTimeField(read_only=True)
    deletion_time = serializers.DateTimeField(read_only=True, allow_null=True)
    type = serializers.CharField(read_only=True, allow_null=True, help_text="the contract (derived for meta)")
    executor_class = serializers.CharField(read_only=True, help_text="workable templates only")
    required_packages = serializers.CharField(read_only=True, help_text="workable templates only")
    parameters = serializers.DictField(
        read_only=True, help_text="name → {types, help, default?, default_type?, const?}"
    )
    kind = serializers.ChoiceField(choices=["workable", "meta"], read_only=True)
    project = serializers.IntegerField(read_only=True, allow_null=True, help_text="the project's pk (scope project)")
    inputs = serializers.DictField(read_only=True, help_text="input name → allowed type strings")
    outputs = serializers.DictField(read_only=True, help_text="output name → type string")
    graph = serializers.DictField(read_only=True, help_text="meta-templates only: {nodes, dependencies}")
    runner = serializers.ChoiceField(
        choices=["celery", "node", "none", "meta"],
        read_only=True,
        help_text="who runs its jobs, by the executor module (EXECUTOR_ALLOWED_MODULES: celery, "
        "EXECUTOR_NODE_MODULES: node, else none); meta for a meta-template (its children are routed)",
    )
    queue = serializers.CharField(
        read_only=True,
        allow_null=True,
        help_text="workable templates only: the Celery queue its jobs go to (null: the default queue, or "
        "CELERY_GPU_QUEUE when it needs a GPU)",
    )
    min_hardware_generation = serializers.CharField(
        read_only=True, allow_null=True, help_text="workable templates only: the least GPU generation it needs"
    )
    runnable = serializers.BooleanField(
        read_only=True, help_text="whether a live worker or node can run its jobs now (a meta-template: every child)"
    )
    runnable_by = serializers.ChoiceField(
        choices=RUNNABLE_BY,
        read_only=True,
        help_text="who can run its jobs now: celery, node, mixed (a meta-template whose children need both) or none",
    )
    not_runnable_reason = serializers.CharField(
        read_only=True, allow_null=True, help_text="why nothing can run it now (null when runnable)"
    )

    def to_representation(self, instance: JobTemplate) -> dict[str, Any]:
        # Views pass the verdicts of what they list; a lone template (reinstate, hard delete) is judged here.
        verdicts = self.context.get("verdicts") or runnability([instance])
        return template_representation(instance, verdict=verdicts[instance.pk])


def parameters_representation(template: JobTemplate, *, user) -> dict[str, Any]:
    """get-all-parameters (§3.5): each type with its schema, the default nested with its own schema."""
    schemas: dict[str, Any] = {}
    # One resolver per answer: each distinct reference type costs one query. Row types keep their
    # object schema (UFDL's answer and the spec's); PK/Name/JobOutput list the caller's visible rows.
    enums = VisibleEnums(user=user)

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
