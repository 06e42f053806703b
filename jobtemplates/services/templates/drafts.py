"""A template as plain data (a draft): what import builds, what export prints, what identity compares.

Import checks a body into a ``TemplateDraft``; a stored template reads back into one; export prints
one in the import format. Two drafts with equal ``content()`` are the same template.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jobtemplates.models import JobTemplate, TemplateKind

# Limits of UFDL's JobTemplateSpec (ufdl-json-messages) that import enforces, so that every export
# stays one the UFDL client reads (tests/jobtemplates/test_export_spec.py); name (200), scope (16),
# domain (2) and licence (100) are bounded by the import checks and the columns already.
SPEC_MAX_JOB_TYPE = 256
SPEC_MAX_EXECUTOR_CLASS = 128
SPEC_MAX_TYPE = 256


@dataclass
class ParameterDraft:
    name: str
    types: list[str]
    help: str
    has_default: bool = False
    default: Any = None
    default_type: str = ""
    const: bool = False

    def export(self) -> dict[str, Any]:
        exported: dict[str, Any] = {"types": list(self.types), "help": self.help}
        if self.has_default:
            exported.update(default=self.default, default_type=self.default_type, const=self.const)
        return exported


@dataclass
class NodeDraft:
    name: str
    child: JobTemplate
    parameter_default_overrides: dict[str, dict[str, Any]] = field(default_factory=dict)

    def export(self) -> dict[str, Any]:
        return {
            "name": self.child.name,
            "version": self.child.version,
            "parameter_default_overrides": self.parameter_default_overrides,
        }


@dataclass
class DependencyDraft:
    from_node: str
    from_output: str
    to_node: str
    to_input: str

    def export(self) -> dict[str, str]:
        return {
            "from_node": self.from_node,
            "from_output": self.from_output,
            "to_node": self.to_node,
            "to_input": self.to_input,
        }


@dataclass
class TemplateDraft:
    """Everything a template is, checked; the derived fields are filled in by import."""

    kind: str
    name: str
    version: int | None
    description: str
    scope: str
    domain: Any  # contracts.Domain | None
    licence: Any  # contracts.Licence
    project: Any  # workspaces.Project | None
    contract: str = ""
    contract_name: str = ""
    type_parameters: dict[str, str] = field(default_factory=dict)
    contract_inputs: dict[str, list[str]] = field(default_factory=dict)
    inputs: dict[str, list[str]] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    executor_class: str = ""
    required_packages: str = ""
    # Routing (ours, workable only; "" = unset): the Celery queue and the least GPU generation.
    queue: str = ""
    min_hardware_generation: str = ""
    # A workable template's own parameters, or a meta-template's derived ones (child:param).
    parameters: list[ParameterDraft] = field(default_factory=list)
    nodes: list[NodeDraft] = field(default_factory=list)
    dependencies: list[DependencyDraft] = field(default_factory=list)

    @property
    def is_meta(self) -> bool:
        return self.kind == TemplateKind.META

    def specific(self) -> dict[str, Any]:
        if self.is_meta:
            return {
                "nodes": {node.name: node.export() for node in self.nodes},
                "dependencies": [dependency.export() for dependency in self.dependencies],
            }
        specific: dict[str, Any] = {
            "job_type": self.contract,
            "executor_class": self.executor_class,
            "required_packages": self.required_packages,
        }
        # Ours, written only when set: UFDL's strict JobTemplateSpec knows neither key.
        if self.queue:
            specific["queue"] = self.queue
        if self.min_hardware_generation:
            specific["min_hardware_generation"] = self.min_hardware_generation
        specific["parameters"] = {parameter.name: parameter.export() for parameter in self.parameters}
        return specific

    def export(self) -> dict[str, Any]:
        """The import format (http-api.md §3.3). Keys without a value (``domain``, ``project``) are left
        out, not null: UFDL's client reads exports with its strict ``JobTemplateSpec``, which refuses a
        null there (and knows no ``project``: ours, written only for project-scoped templates)."""
        exported: dict[str, Any] = {
            "name": self.name,
            "version": self.version,
            "description": self.description,
            "scope": self.scope,
            "domain": self.domain.name if self.domain else None,
            "licence": self.licence.name,
            "project": self.project.pk if self.project else None,
            "specific": self.specific(),
        }
        return {key: value for key, value in exported.items() if value is not None}

    def content(self) -> dict[str, Any]:
        """What identity compares: the export without the version."""
        exported = self.export()
        exported.pop("version", None)
        return exported


def draft_from_template(template: JobTemplate) -> TemplateDraft:
    """Read a stored template back (parameters, nodes and dependencies prefetched when listed)."""
    draft = TemplateDraft(
        kind=template.kind,
        name=template.name,
        version=template.version,
        description=template.description,
        scope=template.scope,
        domain=template.domain,
        licence=template.licence,
        project=template.project,
        contract=template.contract,
        contract_name=template.contract_name,
        type_parameters=dict(template.type_parameters),
        contract_inputs=dict(template.contract_inputs),
        inputs=dict(template.inputs),
        outputs=dict(template.outputs),
        executor_class=template.executor_class,
        required_packages=template.required_packages,
        queue=template.queue,
        min_hardware_generation=template.min_hardware_generation,
        parameters=[
            ParameterDraft(
                name=p.name,
                types=list(p.types),
                help=p.help,
                has_default=p.has_default,
                default=p.default,
                default_type=p.default_type,
                const=p.const,
            )
            for p in template.parameter_list()
        ],
    )
    if template.is_meta:
        draft.nodes = [
            NodeDraft(name=n.name, child=n.child, parameter_default_overrides=dict(n.parameter_default_overrides))
            for n in template.node_list()
        ]
        draft.dependencies = [
            DependencyDraft(d.from_node, d.from_output, d.to_node, d.to_input) for d in template.dependency_list()
        ]
    return draft
