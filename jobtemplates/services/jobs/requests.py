"""Checking a create-job body (http-api.md §3.4) against a template, collecting every problem.

An unparseable declared type makes the answer a 400 (bad syntax); every other problem (missing,
unknown, not accepted, invalid value, missing or invisible row, const overridden, bad notification)
a 422. Either way all problems found are listed, each with its path.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.db.models import Model

from config.errors import InvalidRequest, MalformedRequest, Problem, join_path
from config.text_limits import text_problem
from contracts.resident import values_check
from contracts.types import Type, TypeParseError, accepts, parse_type
from jobtemplates.graph import SEPARATOR
from jobtemplates.models import JobTemplate, TemplateScope
from jobtemplates.services.jobs.kept_templates import meta_graph, template_parameters
from notifications.kinds import parse_override
from workspaces.models import Permission, Project, permission_at_least
from workspaces.selectors import is_admin, project_permission

BODY_KEYS = {
    "input_values",
    "parameter_values",
    "description",
    "notification_override",
    "child_notification_overrides",
    "project",  # ours: whose team's members see the job (X, W or A in it)
    "queue_anyway",  # ours: create the job even when nothing can run it now (it waits)
}
VALUE_KEYS = {"value", "type"}


@dataclass
class JobRequest:
    """A checked create-job body: given values (types canonical), every parameter resolved."""

    input_values: dict[str, dict[str, Any]]
    parameter_values: dict[str, dict[str, Any]]
    resolved_parameters: dict[str, dict[str, Any]]
    description: str
    notification_override: dict[str, Any] | None
    child_notification_overrides: dict[str, Any] | None
    project: Project | None = None
    queue_anyway: bool = False
    # "input_values.<name>" / "parameter_values.<name>" → the rows that given value names, found while
    # checking it, so that recording the job's references does not read them again.
    named_rows: dict[str, list[Model]] = field(default_factory=dict)


@dataclass
class _PendingValue:
    """A value whose schema and rows are checked with all the others at the end (one query per table)."""

    declared: Type
    value: Any
    path: str  # where its problems go: ….value
    slot: str  # input_values.<name> or parameter_values.<name>


class _RequestChecker:
    def __init__(self, template: JobTemplate, user):
        self.template = template
        self.user = user
        # Problems in the order they are found; a pending value holds the place of its problems.
        self.problems: list[Problem | _PendingValue] = []
        self.named_rows: dict[str, list[Model]] = {}
        self.syntax_error = False

    def problem(self, path: str, code: str, message: str) -> None:
        self.problems.append(Problem(path=path, code=code, message=message))

    def check(self, body: Any) -> JobRequest | None:
        if not isinstance(body, dict):
            raise MalformedRequest(
                "The body must be a JSON object.",
                problems=[Problem(path="", code="wrong_type", message="expected {input_values, parameter_values?, …}")],
            )
        for key in sorted(set(body) - BODY_KEYS):
            self.problem(key, "unknown_key", f"unknown key {key!r}; allowed: {', '.join(sorted(BODY_KEYS))}")
        inputs = self.inputs(body.get("input_values"))
        parameters, resolved = self.parameters(body.get("parameter_values", {}))
        description = body.get("description", "")
        if description is None:
            description = ""
        if not isinstance(description, str):
            self.problem("description", "wrong_type", "description must be a string")
        elif (too_long := text_problem(description, "description")) is not None:
            self.problems.append(too_long)
        override = body.get("notification_override")
        _, notification_problems = parse_override(override, "notification_override")
        for p in notification_problems:
            self.problem(p.path, p.code, p.message)
        child_overrides = self.child_overrides(body.get("child_notification_overrides"))
        project = self.project(body.get("project"))
        queue_anyway = body.get("queue_anyway", False)
        if not isinstance(queue_anyway, bool):
            self.syntax_error = True  # 400, not 422: a switch of the request, not a value checked against the template
            self.problem("queue_anyway", "wrong_type", "queue_anyway must be true or false")
        self.check_values()
        if self.problems:
            return None
        return JobRequest(
            input_values=inputs,
            parameter_values=parameters,
            resolved_parameters=resolved,
            description=description,
            notification_override=override,
            child_notification_overrides=child_overrides,
            project=project,
            queue_anyway=queue_anyway,
            named_rows=self.named_rows,
        )

    def checked_problems(self) -> list[Problem]:
        """The problems, every pending value checked (``check`` has done it before it answers None)."""
        self.check_values()
        return [item for item in self.problems if isinstance(item, Problem)]

    def check_values(self) -> None:
        """Check every pending value at once and put its problems where it was met."""
        pending = [item for item in self.problems if isinstance(item, _PendingValue)]
        if not pending:
            return
        checked = iter(values_check([(p.declared, p.value, p.path) for p in pending], user=self.user))
        problems: list[Problem | _PendingValue] = []
        for item in self.problems:
            if isinstance(item, _PendingValue):
                outcome = next(checked)
                problems += outcome.problems
                self.named_rows[item.slot] = outcome.rows
            else:
                problems.append(item)
        self.problems = problems

    def project(self, raw: Any) -> Project | None:
        """The project the job goes into (ours): one whose team the caller runs jobs in (X, W or A;
        admins any). A project-scoped template's jobs are in its project, so only that one may be named."""
        if raw is None:
            return None
        if isinstance(raw, bool) or not isinstance(raw, int):
            self.problem("project", "wrong_type", "project is a project's pk")
            return None
        found = (
            Project.objects.filter(pk=raw, deletion_time__isnull=True).select_related("team").first()
            if 0 < raw <= 2**63 - 1
            else None
        )
        level = project_permission(user=self.user, project=found) if found is not None else None
        if found is None or (level is None and not is_admin(self.user)):
            self.problem("project", "does_not_exist", f"no project {raw}")
            return None
        if not is_admin(self.user) and not permission_at_least(level, Permission.EXECUTE):
            self.problem(
                "project", "permission_denied", f"running jobs in project {found} takes X, W or A; you have {level}"
            )
            return None
        if self.template.scope == TemplateScope.PROJECT and found.pk != self.template.project_id:
            self.problem("project", "wrong_project", "a project-scoped template's jobs are in the template's project")
            return None
        return found

    # --- values -----------------------------------------------------------------------------------

    def typed_value(self, raw: Any, path: str, allowed: list[str]) -> dict[str, Any] | None:
        """Check ``{"value", "type"}`` against a slot; returns it with the type canonical. The value itself
        (its schema, the rows it names) is checked with the others by ``check_values``."""
        if not isinstance(raw, dict):
            self.problem(path, "wrong_type", 'expected {"value": …, "type": "<type string>"}')
            return None
        for key in sorted(set(raw) - VALUE_KEYS):
            self.problem(join_path(path, key), "unknown_key", f"unknown key {key!r}; expected value and type")
        if "value" not in raw:
            self.problem(join_path(path, "value"), "required", "a value is required")
        type_text = raw.get("type")
        if not isinstance(type_text, str):
            self.problem(
                join_path(path, "type"),
                "required" if type_text is None else "wrong_type",
                "the value's type (a type string) is required",
            )
            return None
        try:
            declared = parse_type(type_text)
        except TypeParseError as error:
            self.syntax_error = True
            self.problem(join_path(path, "type"), "unparseable_type", str(error))
            return None
        slot: list[Type] = [parse_type(text) for text in allowed]
        if not accepts(slot, declared):
            self.problem(
                join_path(path, "type"),
                "not_accepted",
                f"{declared} is not a sub-type of any allowed type: {', '.join(allowed)}",
            )
            return None
        if "value" not in raw:
            return None
        self.problems.append(_PendingValue(declared, raw["value"], join_path(path, "value"), path))
        return {"value": raw["value"], "type": str(declared)}

    def inputs(self, raw: Any) -> dict[str, dict[str, Any]]:
        if raw is None:
            self.problem("input_values", "required", "input_values is required (use {} when there are none)")
            return {}
        if not isinstance(raw, dict):
            self.problem("input_values", "wrong_type", "input_values is an object: input name → {value, type}")
            return {}
        slots: dict[str, list[str]] = self.template.inputs
        checked = {}
        for name in sorted(set(raw) - set(slots)):
            self.problem(
                f"input_values.{name}",
                "unknown_input",
                f"{self.template} has no input {name!r}; it has: {', '.join(slots) or 'none'}",
            )
        for name, allowed in slots.items():
            if name not in raw:
                self.problem(f"input_values.{name}", "required", f"input {name!r} is required ({', '.join(allowed)})")
                continue
            value = self.typed_value(raw[name], f"input_values.{name}", allowed)
            if value is not None:
                checked[name] = value
        return checked

    def parameters(self, raw: Any) -> tuple[dict[str, dict], dict[str, dict]]:
        if raw is None:
            raw = {}
        if not isinstance(raw, dict):
            self.problem("parameter_values", "wrong_type", "parameter_values is an object: name → {value, type}")
            return {}, {}
        declared = {p.name: p for p in template_parameters(self.template)}  # kept per process
        for name in sorted(set(raw) - set(declared)):
            self.problem(f"parameter_values.{name}", "unknown_parameter", f"{self.template} has no parameter {name!r}")
        given: dict[str, dict] = {}
        resolved: dict[str, dict] = {}
        for name, parameter in declared.items():
            path = f"parameter_values.{name}"
            if name in raw:
                if parameter.const:
                    self.problem(path, "const_parameter", f"{name!r} is const (its default is always used)")
                    continue
                value = self.typed_value(raw[name], path, parameter.types)
                if value is not None:
                    given[name] = resolved[name] = value
            elif parameter.has_default:
                resolved[name] = {"value": parameter.default, "type": parameter.default_type}
            else:
                self.problem(
                    path,
                    "required",
                    f"parameter {name!r} has no default and must be given ({', '.join(parameter.types)})",
                )
        return given, resolved

    def child_overrides(self, raw: Any) -> dict[str, Any] | None:
        if raw is None:
            return None
        path = "child_notification_overrides"
        if not self.template.is_meta:
            self.problem(path, "not_meta", "only jobs of meta-templates have children")
            return None
        if not isinstance(raw, dict):
            self.problem(path, "wrong_type", "an object: child path (child or child:grandchild) → override")
            return None
        descendants = descendant_paths(self.template)
        for key, override in raw.items():
            key_path = f"{path}.{key}"
            if key not in descendants:
                self.problem(
                    key_path,
                    "unknown_child",
                    f"no descendant {key!r}; descendants: {', '.join(sorted(descendants)) or 'none'}",
                )
                continue
            _, problems = parse_override(override, key_path)
            for p in problems:
                self.problem(p.path, p.code, p.message)
        return raw


def descendant_paths(template: JobTemplate) -> set[str]:
    """``child`` and ``child:grandchild`` paths of a meta-template's nodes, all the way down."""
    paths: set[str] = set()
    for node in meta_graph(template).nodes:  # kept per process
        paths.add(node.name)
        if node.child.is_meta:
            paths |= {f"{node.name}{SEPARATOR}{inner}" for inner in descendant_paths(node.child)}
    return paths


def check_job_request(*, template: JobTemplate, body: Any, user) -> JobRequest:
    """The checked request, or raise 400 (an unparseable type among the problems) / 422."""
    checker = _RequestChecker(template, user)
    request = checker.check(body)
    if request is None:
        error = MalformedRequest if checker.syntax_error else InvalidRequest
        raise error("The job request is invalid.", problems=checker.checked_problems(), code="invalid_job_request")
    return request
