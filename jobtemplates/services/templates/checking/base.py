"""What every template check shares: the allowed keys, problems and warnings, names, lookups and defaults."""

from __future__ import annotations

import re
from typing import Any

from config.errors import Problem, join_path
from config.text_limits import text_problem
from contracts.models import Domain
from contracts.resident import value_problems
from contracts.types import Type, TypeParseError, accepts, parse_type
from jobtemplates.services.templates.domains import domain_literals, unknown_domains
from workspaces.models import Project

TOP_KEYS = {"name", "version", "description", "scope", "domain", "licence", "project", "specific"}
WORKABLE_KEYS = {"job_type", "executor_class", "required_packages", "parameters", "queue", "min_hardware_generation"}
META_KEYS = {"nodes", "dependencies"}
PARAMETER_KEYS = {"types", "help", "default", "default_type", "const"}
NODE_KEYS = {"name", "version", "parameter_default_overrides"}
OVERRIDE_KEYS = {"default", "default_type", "const"}
EDGE_KEYS = ("from_node", "from_output", "to_node", "to_input")
LOCAL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")
DOTTED_PATH = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")
URL_REQUIREMENT = re.compile(r"^(git\+|hg\+|svn\+|bzr\+)?(https?|file|ssh|git)://\S+$")
MAX_NAME_LENGTH = 200
# A Celery queue name (ours: ``specific.queue``): what brokers accept as a routing key, without surprises.
QUEUE_NAME = re.compile(r"^[A-Za-z0-9_.\-]{1,100}$")


class TemplateCheckerBase:
    """A check's state (the body, its problems and warnings, the domains it names) and the checks both kinds share."""

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
        if (too_long := text_problem(value, join_path(path, key))) is not None:
            self.problems.append(too_long)
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

    # --- defaults (a workable parameter's, a meta-template node's overrides) ----------------------

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
