"""Representations of templates (http-api.md §3.1, §3.5) — compat keys first, in UFDL's order."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from contracts.resident import VisibleEnums, schema_for
from contracts.types import parse_type
from jobtemplates.models import JobTemplate
from jobtemplates.services.templates.drafts import TemplateDraft, draft_from_template


def template_representation(template: JobTemplate | None, draft: TemplateDraft | None = None) -> dict[str, Any]:
    """The §3.1 representation; ``draft`` alone (no saved row) serves ``validate``."""
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
    return data


class TemplateSerializer(serializers.Serializer):
    """A job template (workable or meta), as UFDL clients read it, plus our added keys."""

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

    def to_representation(self, instance: JobTemplate) -> dict[str, Any]:
        return template_representation(instance)


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
