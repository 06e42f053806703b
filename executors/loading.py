"""Loading executor classes: only from allowed module prefixes, only ``Executor`` subclasses.

Used by workers at run time and by template import (to check a class that is installed here).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass

from django.conf import settings

from executors.base import Executor, contract_pin_accepts, declared_parameter_problems
from runners.routing import NODE, runner_for

DOTTED_PATH = r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$"


class ExecutorLoadError(Exception):
    """The class cannot be used: ``code`` is ``not_allowed``, ``not_installed``, ``not_found`` or
    ``not_executor``."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def is_allowed_module(path: str) -> bool:
    prefixes = settings.EXECUTOR_ALLOWED_MODULES
    return any(path == prefix.rstrip(".") or path.startswith(prefix.rstrip(".") + ".") for prefix in prefixes)


def load_executor_class(path: str) -> type[Executor]:
    """Import ``module.Class`` if its module is allowed and it is an Executor subclass."""
    if not is_allowed_module(path):
        raise ExecutorLoadError(
            "not_allowed",
            f"{path} is outside the allowed executor modules ({', '.join(settings.EXECUTOR_ALLOWED_MODULES)}); "
            "set EXECUTOR_ALLOWED_MODULES to run it",
        )
    module_path, _, class_name = path.rpartition(".")
    try:
        module = importlib.import_module(module_path)
    except ModuleNotFoundError as exc:
        if exc.name and module_path.startswith(exc.name):
            raise ExecutorLoadError("not_installed", f"module {module_path} is not installed here") from exc
        raise ExecutorLoadError("not_installed", f"module {module_path} cannot be imported: {exc}") from exc
    except Exception as exc:  # an import-time crash of the module is a problem of the class, not ours
        raise ExecutorLoadError("not_installed", f"module {module_path} failed to import: {exc!r}") from exc
    executor_class = getattr(module, class_name, None)
    if executor_class is None:
        raise ExecutorLoadError("not_found", f"module {module_path} has no class {class_name}")
    if not (isinstance(executor_class, type) and issubclass(executor_class, Executor)) or executor_class is Executor:
        raise ExecutorLoadError("not_executor", f"{path} is not a subclass of executors.base.Executor")
    return executor_class


@dataclass(frozen=True)
class ExecutorFinding:
    """One finding about a template's executor class: an error blocks import, a warning does not."""

    severity: str  # "error" | "warning"
    code: str
    message: str
    parameter: str | None = None


class ExecutorInspection(list):
    """The findings about a class (a list of ``ExecutorFinding``), and the routing defaults it declares
    (``queue``, ``min_hardware_generation``: "" when it declares none or cannot be loaded here)."""

    def __init__(self, findings=(), *, queue: str = "", min_hardware_generation: str = ""):
        super().__init__(findings)
        self.queue = queue
        self.min_hardware_generation = min_hardware_generation


def inspect_executor_class(*, path: str, contract: str, parameters: dict[str, list[str]]) -> ExecutorInspection:
    """Check an executor class for a template, as far as this process can (template import's hook)."""
    try:
        executor_class = load_executor_class(path)
    except ExecutorLoadError as error:
        if error.code == "not_allowed" and runner_for(path) == NODE:
            message = f"{path} is run by UFDL job-launcher nodes (EXECUTOR_NODE_MODULES), so it is not checked here"
            return ExecutorInspection([ExecutorFinding("warning", "executor_not_allowed", message)])
        if error.code in ("not_allowed", "not_installed"):
            return ExecutorInspection(
                [
                    ExecutorFinding(
                        "warning", f"executor_{error.code}", f"{error.message}; the worker decides at run time"
                    )
                ]
            )
        return ExecutorInspection([ExecutorFinding("error", f"executor_{error.code}", error.message)])
    findings = ExecutorInspection(
        queue=executor_class.queue, min_hardware_generation=executor_class.min_hardware_generation
    )
    if not executor_class.contract:
        findings.append(
            ExecutorFinding(
                "error", "executor_without_contract", f"{path} does not pin a contract (set its `contract`)"
            )
        )
    elif contract and not contract_pin_accepts(executor_class.contract, contract):
        findings.append(
            ExecutorFinding(
                "error",
                "executor_contract_mismatch",
                f"{path} fulfils {executor_class.contract}, which does not accept {contract}",
            )
        )
    for name, code, message in declared_parameter_problems(executor_class.parameters, parameters):
        findings.append(ExecutorFinding("error", code, message, parameter=name))
    return findings
