"""Checking a workable template's ``specific``: job type, executor class, required packages, parameters,
and (ours) routing: the Celery queue and the least GPU generation its jobs need."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string
from packaging.requirements import InvalidRequirement, Requirement

from config.errors import join_path
from contracts.contracts import ContractParseError, parse_contract
from contracts.models import Hardware
from contracts.types import Type, TypeParseError, is_binary_type, parse_type
from jobtemplates.services.templates.checking.base import (
    DOTTED_PATH,
    LOCAL_NAME,
    PARAMETER_KEYS,
    QUEUE_NAME,
    URL_REQUIREMENT,
    WORKABLE_KEYS,
    TemplateCheckerBase,
)
from jobtemplates.services.templates.drafts import (
    SPEC_MAX_EXECUTOR_CLASS,
    SPEC_MAX_JOB_TYPE,
    SPEC_MAX_TYPE,
    ParameterDraft,
    TemplateDraft,
)


class WorkableChecks(TemplateCheckerBase):
    """The checks of a workable template's ``specific`` (mixed into ``TemplateChecker``)."""

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
        if "queue" in specific:
            draft.queue = self.queue_name(specific["queue"], "specific.queue") or ""
        if "min_hardware_generation" in specific:
            path = "specific.min_hardware_generation"
            draft.min_hardware_generation = self.hardware_generation(specific["min_hardware_generation"], path) or ""
        if executor_class and not self.problems:
            self.executor(draft, defaults={key for key in ("queue", "min_hardware_generation") if key not in specific})

    def queue_name(self, value: Any, path: str, *, what: str = "queue") -> str | None:
        """A Celery queue name: 1–100 characters of letters, digits, ``_``, ``.`` and ``-``."""
        if not isinstance(value, str) or not QUEUE_NAME.match(value):
            self.problem(
                path,
                "wrong_type" if not isinstance(value, str) else "invalid_value",
                f"{what} must be a Celery queue name: 1 to 100 letters, digits, '_', '.' or '-' "
                "(leave it out for the default queue)",
            )
            return None
        return value

    def hardware_generation(self, value: Any, path: str, *, what: str = "min_hardware_generation") -> str | None:
        """A GPU generation of the catalogue (``contracts.Hardware``), e.g. ``Pascal``."""
        if not isinstance(value, str) or not value:
            self.problem(
                path,
                "wrong_type" if not isinstance(value, str) else "invalid_value",
                f"{what} must name a hardware generation (leave it out when no GPU is needed)",
            )
            return None
        if not Hardware.objects.filter(generation=value).exists():
            known = ", ".join(Hardware.objects.order_by("min_compute_capability").values_list("generation", flat=True))
            self.problem(
                path, "unknown_hardware_generation", f"no hardware generation {value!r}; known: {known or 'none'}"
            )
            return None
        return value

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

    def executor(self, draft: TemplateDraft, *, defaults: set[str]) -> None:
        """Inspect the executor class (settings.EXECUTOR_INSPECTOR); the routing keys in ``defaults``
        (absent from the body) come from the class's declared ``queue`` / ``min_hardware_generation``
        when this process can load it."""
        inspect: Callable[..., list] = import_string(settings.EXECUTOR_INSPECTOR)
        offered = {p.name: p.types for p in draft.parameters}
        inspection = inspect(path=draft.executor_class, contract=draft.contract, parameters=offered)
        for finding in inspection:
            path = f"specific.parameters.{finding.parameter}" if finding.parameter else "specific.executor_class"
            if finding.severity == "error":
                self.problem(path, finding.code, finding.message)
            else:
                self.warning(path, finding.code, finding.message)
        # A custom inspector may answer a plain list: then the class declares nothing.
        declared_queue = getattr(inspection, "queue", "")
        if "queue" in defaults and declared_queue:
            what = f"{draft.executor_class}.queue"
            draft.queue = self.queue_name(declared_queue, "specific.executor_class", what=what) or ""
        declared_generation = getattr(inspection, "min_hardware_generation", "")
        if "min_hardware_generation" in defaults and declared_generation:
            what = f"{draft.executor_class}.min_hardware_generation"
            checked = self.hardware_generation(declared_generation, "specific.executor_class", what=what)
            draft.min_hardware_generation = checked or ""

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
