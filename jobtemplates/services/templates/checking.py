"""Checking an import body (http-api.md §3.3) into a ``TemplateDraft``, collecting every problem.

Every problem carries its path into the body (``specific.parameters.epochs.default``,
``specific.dependencies[0].to_input``); warnings (an executor class not installed here, a default
naming a row that does not exist yet) do not block the import and are returned with it. Every
``Domain<'…'>`` a type names must be a catalogue domain (looked up once, at the end).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string
from packaging.requirements import InvalidRequirement, Requirement

from config.errors import Problem, join_path
from contracts.contracts import ContractParseError, parse_contract
from contracts.models import Domain, Licence
from contracts.resident import value_problems
from contracts.types import Type, TypeParseError, accepts, is_binary_type, parse_type
from jobtemplates.graph import ChildSignature, Edge, check_graph, qualified
from jobtemplates.models import JobTemplate, TemplateKind, TemplateScope
from jobtemplates.services.templates.domains import domain_literals, unknown_domains
from jobtemplates.services.templates.drafts import (
    SPEC_MAX_EXECUTOR_CLASS,
    SPEC_MAX_JOB_TYPE,
    SPEC_MAX_TYPE,
    DependencyDraft,
    NodeDraft,
    ParameterDraft,
    TemplateDraft,
)
from workspaces.models import Project

TOP_KEYS = {"name", "version", "description", "scope", "domain", "licence", "project", "specific"}
WORKABLE_KEYS = {"job_type", "executor_class", "required_packages", "parameters"}
META_KEYS = {"nodes", "dependencies"}
PARAMETER_KEYS = {"types", "help", "default", "default_type", "const"}
NODE_KEYS = {"name", "version", "parameter_default_overrides"}
OVERRIDE_KEYS = {"default", "default_type", "const"}
EDGE_KEYS = ("from_node", "from_output", "to_node", "to_input")
LOCAL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")
DOTTED_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")
URL_REQUIREMENT = re.compile(r"^(git\+|hg\+|svn\+|bzr\+)?(https?|file|ssh|git)://\S+$")
MAX_NAME_LENGTH = 200


class TemplateChecker:
    """One pass over an import body; ``check()`` returns a draft, or None with ``problems`` filled."""

    def __init__(self, data: Any):
        self.data = data
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []
        # (path, domain descriptions) of every type read, checked against the catalogue at the end.
        self.named_domains: list[tuple[str, list[str]]] = []

    def problem(self, path: str, code: str, message: str) -> None:
        self.problems.append(Problem(path=path, code=code, message=message))

    def warning(self, path: str, code: str, message: str) -> None:
        self.warnings.append(Problem(path=path, code=code, message=message))

    def too_long(self, path: str, text: str, limit: int, what: str) -> bool:
        """Report ``text`` if it exceeds UFDL's limit for ``what`` (an export must stay a valid
        JobTemplateSpec); whether it does."""
        if len(text) <= limit:
            return False
        self.problem(path, "too_long", f"{what} is {len(text)} characters long; UFDL allows at most {limit}")
        return True

    def name_domains(self, path: str, types: list[Type]) -> None:
        self.named_domains.append((path, domain_literals(types)))

    def check_domains(self) -> None:
        unknown = unknown_domains(description for _, descriptions in self.named_domains for description in descriptions)
        if not unknown:
            return
        known = ", ".join(repr(d) for d in Domain.objects.order_by("pk").values_list("description", flat=True))
        for path, descriptions in self.named_domains:
            for description in descriptions:
                if description in unknown:
                    self.problem(
                        path,
                        "unknown_domain",
                        f"no domain is described as {description!r}; known: {known or 'none'}",
                    )

    # --- top level --------------------------------------------------------------------------------

    def check(self) -> TemplateDraft | None:
        data = self.data
        if not isinstance(data, dict):
            self.problem("", "wrong_type", "the template must be a JSON object")
            return None
        self.unknown_keys(data, TOP_KEYS, "")
        name = self.name(data.get("name"))
        version = self.version(data.get("version"))
        description = self.string(data, "description", "", default="")
        scope = data.get("scope", TemplateScope.PUBLIC)
        if scope not in TemplateScope.values:
            self.problem("scope", "invalid_choice", f"scope must be one of {', '.join(TemplateScope.values)}")
        domain = self.lookup(data, "domain", Domain, "name", required=False)
        licence = self.lookup(data, "licence", Licence, "name", required=True)
        project = self.project(data.get("project"))
        if scope == TemplateScope.PROJECT and project is None and "project" not in self.problem_paths():
            self.problem("project", "required", "a template of scope 'project' names its project (its pk)")
        draft = TemplateDraft(
            kind=TemplateKind.WORKABLE,
            name=name or "",
            version=version,
            description=description or "",
            scope=scope,
            domain=domain,
            licence=licence,
            project=project,
        )
        specific = data.get("specific")
        if not isinstance(specific, dict):
            self.problem(
                "specific",
                "required" if specific is None else "wrong_type",
                "specific must be an object: a workable template's job_type/executor_class/parameters, "
                "or a meta-template's nodes/dependencies",
            )
        elif "nodes" in specific or "dependencies" in specific:
            draft.kind = TemplateKind.META
            self.meta(specific, draft)
        else:
            self.workable(specific, draft)
        self.check_domains()
        return None if self.problems else draft

    def problem_paths(self) -> set[str]:
        return {p.path for p in self.problems}

    def unknown_keys(self, data: dict, allowed: set[str], path: str) -> None:
        for key in sorted(set(data) - allowed, key=str):
            self.problem(
                join_path(path, str(key)), "unknown_key", f"unknown key {key!r}; allowed: {', '.join(sorted(allowed))}"
            )

    def name(self, value: Any) -> str | None:
        if not isinstance(value, str) or not value.strip():
            self.problem("name", "required" if value is None else "wrong_type", "name must be a non-empty string")
            return None
        if len(value) > MAX_NAME_LENGTH or value != value.strip() or any(ord(c) < 32 for c in value):
            self.problem(
                "name",
                "invalid_value",
                f"name must be at most {MAX_NAME_LENGTH} printable characters without surrounding spaces",
            )
            return None
        return value

    def version(self, value: Any) -> int | None:
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 2**31 - 1:
            self.problem("version", "wrong_type", "version must be a positive integer (or absent for the next one)")
            return None
        return value

    def string(self, data: dict, key: str, path: str, *, default: str | None = None) -> str | None:
        value = data.get(key, default)
        if not isinstance(value, str):
            self.problem(join_path(path, key), "required" if value is None else "wrong_type", f"{key} must be a string")
            return None
        return value

    def lookup(self, data: dict, key: str, model, field: str, *, required: bool):
        value = data.get(key)
        if value is None:
            if required:
                self.problem(key, "required", f"{key} is required (the {model._meta.verbose_name}'s {field})")
            return None
        if not isinstance(value, str):
            self.problem(key, "wrong_type", f"{key} must be the {model._meta.verbose_name}'s {field} (a string)")
            return None
        row = model.objects.filter(**{field: value}).first()
        if row is None:
            self.problem(key, "unknown_" + key, f"no {model._meta.verbose_name} has {field} {value!r}")
        return row

    def project(self, value: Any) -> Project | None:
        """The active project ``value`` names: its pk (as UFDL serialises a project), or its name when only
        one active project has it."""
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | str) or (isinstance(value, str) and not value):
            self.problem("project", "wrong_type", "project is a project's pk (or its name)")
            return None
        active = Project.objects.filter(deletion_time__isnull=True, team__deletion_time__isnull=True)
        if isinstance(value, int):
            found = list(active.filter(pk=value)[:1]) if 0 < value <= 2**63 - 1 else []
        else:
            found = list(active.filter(name=value)[:2])
        if len(found) > 1:
            self.problem("project", "ambiguous", f"several projects are named {value!r}; give its pk")
            return None
        if not found:
            self.problem("project", "unknown_project", f"no active project {value!r}")
            return None
        return found[0]

    # --- workable ---------------------------------------------------------------------------------

    def workable(self, specific: dict, draft: TemplateDraft) -> None:
        self.unknown_keys(specific, WORKABLE_KEYS, "specific")
        contract_text = self.string(specific, "job_type", "specific")
        if contract_text is not None:
            try:
                instance = parse_contract(contract_text)
            except ContractParseError as error:
                self.problem("specific.job_type", "unparseable_contract", str(error))
            else:
                self.name_domains("specific.job_type", list(instance.args))
                # Exported in canonical form, which may be longer than the author's spelling.
                self.too_long("specific.job_type", str(instance), SPEC_MAX_JOB_TYPE, "the job type (canonical)")
                draft.contract = str(instance)
                draft.contract_name = instance.contract.name
                draft.type_parameters = {name: str(t) for name, t in instance.type_parameters().items()}
                draft.contract_inputs = {name: [str(t) for t in ts] for name, ts in instance.inputs().items()}
                draft.inputs = dict(draft.contract_inputs)
                draft.outputs = {name: str(t) for name, t in instance.outputs().items()}
        executor_class = self.string(specific, "executor_class", "specific")
        if executor_class is not None and not DOTTED_PATH.match(executor_class):
            self.problem(
                "specific.executor_class",
                "invalid_value",
                "executor_class must be a dotted path to a class (package.module.Class)",
            )
            executor_class = None
        if executor_class is not None and self.too_long(
            "specific.executor_class", executor_class, SPEC_MAX_EXECUTOR_CLASS, "executor_class"
        ):
            executor_class = None
        draft.executor_class = executor_class or ""
        packages = self.string(specific, "required_packages", "specific", default="")
        draft.required_packages = self.required_packages(packages) if packages is not None else ""
        parameters = specific.get("parameters", {})
        if not isinstance(parameters, dict):
            self.problem("specific.parameters", "wrong_type", "parameters must be an object: name → parameter")
            parameters = {}
        for name, spec in parameters.items():
            parameter = self.parameter(name, spec, f"specific.parameters.{name}")
            if parameter is not None:
                draft.parameters.append(parameter)
        if executor_class and not self.problems:
            self.executor(draft)

    def required_packages(self, text: str) -> str:
        for index, item in enumerate(text.split()):
            if URL_REQUIREMENT.match(item):
                continue
            try:
                Requirement(item)
            except InvalidRequirement as error:
                self.problem(
                    "specific.required_packages",
                    "invalid_requirement",
                    f"item {index + 1} ({item!r}) is not a pip requirement or URL: {error}",
                )
        return " ".join(text.split())

    def executor(self, draft: TemplateDraft) -> None:
        inspect: Callable[..., list] = import_string(settings.EXECUTOR_INSPECTOR)
        offered = {p.name: p.types for p in draft.parameters}
        for finding in inspect(path=draft.executor_class, contract=draft.contract, parameters=offered):
            path = f"specific.parameters.{finding.parameter}" if finding.parameter else "specific.executor_class"
            if finding.severity == "error":
                self.problem(path, finding.code, finding.message)
            else:
                self.warning(path, finding.code, finding.message)

    def parameter(self, name: Any, spec: Any, path: str) -> ParameterDraft | None:
        if not isinstance(name, str) or not LOCAL_NAME.match(name):
            self.problem(
                path,
                "invalid_name",
                "a parameter name starts with a letter or _ and holds letters, digits, _ and - (no ':')",
            )
            return None
        if not isinstance(spec, dict):
            self.problem(path, "wrong_type", "a parameter must be an object {types, help, default?, …}")
            return None
        self.unknown_keys(spec, PARAMETER_KEYS, path)
        types = self.parameter_types(spec.get("types"), join_path(path, "types"))
        help_text = self.string(spec, "help", path)
        const = spec.get("const", False)
        if not isinstance(const, bool):
            self.problem(join_path(path, "const"), "wrong_type", "const must be a boolean")
            const = False
        has_default = "default" in spec
        if const and not has_default:
            self.problem(join_path(path, "const"), "const_without_default", "a const parameter needs a default")
        default_type = spec.get("default_type")
        if default_type is not None and not isinstance(default_type, str):
            self.problem(join_path(path, "default_type"), "wrong_type", "default_type must be a type string")
            default_type = None
        if types is None or help_text is None:
            return None
        parameter = ParameterDraft(
            name=name, types=[text for text, _ in types], help=help_text, has_default=has_default, const=const
        )
        if has_default or default_type is not None:
            slot = [parsed for _, parsed in types]
            checked = self.default(
                spec.get("default"), default_type or types[0][0], slot, path, check_value=has_default
            )
            if checked is None:
                return None
            parameter.default_type = checked
            parameter.default = spec.get("default")
            if default_type is not None:
                self.name_domains(join_path(path, "default_type"), [parse_type(checked)])
        if not has_default:
            parameter.default_type = ""
        return parameter

    def parameter_types(self, value: Any, path: str) -> list[tuple[str, Type]] | None:
        if not isinstance(value, list) or not value:
            self.problem(
                path, "required" if value is None else "wrong_type", "types must be a non-empty list of type strings"
            )
            return None
        parsed: list[tuple[str, Type]] = []
        for index, text in enumerate(value):
            item_path = join_path(path, index)
            if not isinstance(text, str):
                self.problem(item_path, "wrong_type", "a type must be a string")
                continue
            try:
                type_ = parse_type(text)
            except TypeParseError as error:
                self.problem(item_path, "unparseable_type", str(error))
                continue
            if is_binary_type(type_):
                self.problem(item_path, "not_json_type", f"{text} values are binary; a parameter takes JSON values")
                continue
            if self.too_long(item_path, text, SPEC_MAX_TYPE, "a type"):
                continue
            self.name_domains(item_path, [type_])
            parsed.append((text, type_))
        return parsed if len(parsed) == len(value) else None

    def default(self, value: Any, type_text: str, slot: list[Type], path: str, *, check_value: bool) -> str | None:
        """Check a default against its type; returns the canonical default_type (None on a problem)."""
        type_path = join_path(path, "default_type")
        try:
            declared = parse_type(type_text)
        except TypeParseError as error:
            self.problem(type_path, "unparseable_type", str(error))
            return None
        if not accepts(slot, declared):
            self.problem(
                type_path, "not_accepted", f"default_type {type_text} is not a sub-type of any of the parameter's types"
            )
            return None
        if check_value:
            self.default_value(value, declared, join_path(path, "default"))
        # Keep the author's spelling (clients compare these strings; UFDL's default_type is types[0] as written).
        return type_text

    def default_value(self, value: Any, declared: Type, path: str) -> None:
        for problem in value_problems(declared, value, user=None, path=path):
            if problem.code in ("not_found", "ambiguous_name"):
                # Seed data may arrive after the template: accept, but say so.
                self.warning(problem.path, problem.code, problem.message)
            else:
                self.problems.append(problem)

    # --- meta -------------------------------------------------------------------------------------

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
            if all(isinstance(value, str) and value for value in values):
                edges.append(Edge(*values))
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
