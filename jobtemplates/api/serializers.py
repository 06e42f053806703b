"""Representations of templates (http-api.md §3.1, §3.5) — compat keys first, in UFDL's order."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from jobtemplates.models import JobTemplate
from jobtemplates.services.runnability import runnability
from jobtemplates.services.templates.representing import parameters_representation, template_representation

RUNNABLE_BY = ["celery", "node", "mixed", "none"]
# The documents are built (and kept as bytes) in jobtemplates.services.templates.representing.
__all__ = ["RUNNABLE_BY", "TemplateSerializer", "parameters_representation", "template_representation"]


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
