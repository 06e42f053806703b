"""Checking a meta-template's ``specific``: its nodes, their overrides and the dependencies between them."""

from __future__ import annotations

from typing import Any

from config.errors import join_path
from contracts.contracts import parse_contract
from contracts.types import parse_type
from jobtemplates.graph import ChildSignature, Edge, check_graph, qualified
from jobtemplates.models import JobTemplate
from jobtemplates.services.templates.checking.base import (
    EDGE_KEYS,
    LOCAL_NAME,
    META_KEYS,
    NODE_KEYS,
    OVERRIDE_KEYS,
    TemplateCheckerBase,
)
from jobtemplates.services.templates.drafts import DependencyDraft, NodeDraft, ParameterDraft, TemplateDraft


class MetaChecks(TemplateCheckerBase):
    """The checks of a meta-template's ``specific`` (mixed into ``TemplateChecker``)."""

    def meta(self, specific: dict, draft: TemplateDraft) -> None:
        self.unknown_keys(specific, META_KEYS, "specific")
        nodes = specific.get("nodes")
        if not isinstance(nodes, dict) or not nodes:
            self.problem(
                "specific.nodes",
                "required" if nodes is None else "wrong_type",
                "nodes must be a non-empty object: local name → {name, version?, parameter_default_overrides?}",
            )
            nodes = {}
        for name, spec in nodes.items():
            node = self.node(name, spec, f"specific.nodes.{name}")
            if node is not None:
                draft.nodes.append(node)
        edges = self.dependencies(specific.get("dependencies", []))
        if len(draft.nodes) != len(nodes) or edges is None:
            return
        signatures = {node.name: child_signature(node.child) for node in draft.nodes}
        graph_problems, derived = check_graph(nodes=signatures, edges=edges, edge_path="specific.dependencies")
        for graph_problem in graph_problems:
            self.problem(graph_problem.path, graph_problem.code, graph_problem.message)
        if graph_problems:
            return
        draft.dependencies = [DependencyDraft(e.from_node, e.from_output, e.to_node, e.to_input) for e in edges]
        draft.inputs, draft.outputs = derived.inputs, derived.outputs
        draft.contract, draft.type_parameters = derived.contract, derived.type_parameters
        draft.contract_inputs = derived.contract_inputs
        draft.contract_name = parse_contract(derived.contract).contract.name if derived.contract else ""
        draft.parameters = derived_parameters(draft.nodes)

    def node(self, name: Any, spec: Any, path: str) -> NodeDraft | None:
        if not isinstance(name, str) or not LOCAL_NAME.match(name):
            self.problem(
                path,
                "invalid_name",
                "a node name starts with a letter or _ and holds letters, digits, _ and - (no ':')",
            )
            return None
        if not isinstance(spec, dict):
            self.problem(path, "wrong_type", "a node must be an object {name, version?, parameter_default_overrides?}")
            return None
        self.unknown_keys(spec, NODE_KEYS, path)
        template_name = spec.get("name")
        if not isinstance(template_name, str) or not template_name:
            self.problem(
                join_path(path, "name"),
                "required" if template_name is None else "wrong_type",
                "the child template's name is required",
            )
            return None
        version = spec.get("version")
        if version is not None and (not isinstance(version, int) or isinstance(version, bool) or version < 1):
            self.problem(join_path(path, "version"), "wrong_type", "version must be a positive integer")
            return None
        candidates = JobTemplate.objects.active().filter(name=template_name).prefetch_related("parameters")
        child = (candidates.filter(version=version) if version else candidates.order_by("-version")).first()
        if child is None:
            where = join_path(path, "version" if version else "name")
            which = f"{template_name} v{version}" if version else template_name
            self.problem(where, "unknown_template", f"no active template {which}")
            return None
        overrides = spec.get("parameter_default_overrides", {})
        if not isinstance(overrides, dict):
            self.problem(
                join_path(path, "parameter_default_overrides"),
                "wrong_type",
                "parameter_default_overrides must be an object: parameter → {default, …}",
            )
            return None
        checked = self.overrides(child, overrides, join_path(path, "parameter_default_overrides"))
        return None if checked is None else NodeDraft(name=name, child=child, parameter_default_overrides=checked)

    def overrides(self, child: JobTemplate, overrides: dict, path: str) -> dict[str, dict] | None:
        parameters = {p.name: p for p in child.parameters.all()}
        checked: dict[str, dict] = {}
        ok = True
        for name, override in overrides.items():
            item_path = join_path(path, str(name))
            parameter = parameters.get(name)
            if parameter is None:
                self.problem(
                    item_path,
                    "unknown_parameter",
                    f"{child} has no parameter {name!r}; it has: {', '.join(parameters) or 'none'}",
                )
                ok = False
                continue
            if not isinstance(override, dict) or "default" not in override:
                self.problem(item_path, "wrong_type", "an override is an object {default, default_type?, const?}")
                ok = False
                continue
            self.unknown_keys(override, OVERRIDE_KEYS, item_path)
            if parameter.const:
                self.problem(item_path, "const_parameter", f"{name!r} is const in {child} and cannot be overridden")
                ok = False
                continue
            const = override.get("const", False)
            if not isinstance(const, bool):
                self.problem(join_path(item_path, "const"), "wrong_type", "const must be a boolean")
                ok = False
                continue
            slot = [parse_type(text) for text in parameter.types]
            type_text = override.get("default_type") or parameter.default_type or parameter.types[0]
            if not isinstance(type_text, str):
                self.problem(join_path(item_path, "default_type"), "wrong_type", "default_type must be a type string")
                ok = False
                continue
            default_type = self.default(override["default"], type_text, slot, item_path, check_value=True)
            if default_type is None:
                ok = False
                continue
            if override.get("default_type"):
                self.name_domains(join_path(item_path, "default_type"), [parse_type(default_type)])
            checked[name] = {"default": override["default"], "default_type": default_type, "const": const}
        return checked if ok else None

    def dependencies(self, raw: Any) -> list[Edge] | None:
        if not isinstance(raw, list):
            self.problem(
                "specific.dependencies",
                "wrong_type",
                "dependencies must be a list of {from_node, from_output, to_node, to_input}",
            )
            return None
        edges = []
        for index, item in enumerate(raw):
            path = f"specific.dependencies[{index}]"
            if not isinstance(item, dict):
                self.problem(
                    path, "wrong_type", "a dependency is an object {from_node, from_output, to_node, to_input}"
                )
                continue
            self.unknown_keys(item, set(EDGE_KEYS), path)
            values = [item.get(key) for key in EDGE_KEYS]
            for key, value in zip(EDGE_KEYS, values, strict=True):
                if not isinstance(value, str) or not value:
                    self.problem(
                        join_path(path, key),
                        "required" if value is None else "wrong_type",
                        f"{key} must be a non-empty string",
                    )
            texts = [value for value in values if isinstance(value, str) and value]
            if len(texts) == len(values):
                edges.append(Edge(*texts))
        return edges if len(edges) == len(raw) else None


def child_signature(child: JobTemplate) -> ChildSignature:
    return ChildSignature(
        contract=child.contract,
        type_parameters=child.type_parameters,
        contract_inputs=child.contract_inputs,
        inputs=child.inputs,
        outputs=child.outputs,
    )


def derived_parameters(nodes: list[NodeDraft]) -> list[ParameterDraft]:
    """A meta-template's parameters: each child's, named ``node:param``, with the node's overrides."""
    derived = []
    for node in nodes:
        for parameter in node.child.parameters.all():
            override = node.parameter_default_overrides.get(parameter.name)
            draft = ParameterDraft(
                name=qualified(node.name, parameter.name),
                types=list(parameter.types),
                help=parameter.help,
                has_default=parameter.has_default,
                default=parameter.default,
                default_type=parameter.default_type,
                const=parameter.const,
            )
            if override is not None:
                draft.has_default = True
                draft.default = override["default"]
                draft.default_type = override["default_type"]
                draft.const = override["const"]
            derived.append(draft)
    return derived
