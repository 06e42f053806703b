"""The executor API: subclass ``Executor``, pin a contract, declare parameters, implement ``run(ctx)``.

The runner owns the lifecycle (claim, start, finish, error, progress writes, output storage); an
executor only computes, through the context it is given, and never touches models.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

from contracts.contracts import ContractParseError, parse_contract
from contracts.types import TypeParseError, is_subtype, parse_type

if TYPE_CHECKING:
    from executors.context import ExecutionContext


class Executor:
    """Base of every executor.

    ``contract`` pins the contracts this executor can fulfil: a contract string whose arguments are
    upper bounds (``Train<Domain<'Image Classification'>, Framework>`` accepts any image-classification
    ``Train``). ``parameters`` declares the parameters ``run`` reads (name → type string); a template
    must offer each, with types the executor can handle.

    ``queue`` and ``min_hardware_generation`` are routing defaults for the templates that name this
    class (a template's own ``specific.queue`` / ``specific.min_hardware_generation`` win): the Celery
    queue its jobs go to, and the least GPU generation (a ``contracts.Hardware`` generation, e.g.
    ``"Pascal"``) they need. Empty: the default queue, no GPU.
    """

    contract: ClassVar[str] = ""
    parameters: ClassVar[Mapping[str, str]] = {}
    queue: ClassVar[str] = ""
    min_hardware_generation: ClassVar[str] = ""

    def run(self, ctx: ExecutionContext) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement run(ctx)")


def contract_pin_accepts(pin: str, contract: str) -> bool:
    """Whether a template's ``contract`` fits an executor's ``pin`` (same contract, arguments within)."""
    try:
        pinned, actual = parse_contract(pin), parse_contract(contract)
    except ContractParseError:
        return False
    if pinned.contract is not actual.contract:
        return False
    return all(is_subtype(arg, bound) for arg, bound in zip(actual.args, pinned.args, strict=True))


def declared_parameter_problems(
    declared: Mapping[str, str], template_parameters: Mapping[str, list[str]]
) -> list[tuple[str, str, str]]:
    """(parameter, code, message) for each declared parameter the template lacks or types too widely."""
    problems = []
    for name, declared_type in declared.items():
        if name not in template_parameters:
            problems.append((name, "missing_parameter", f"the executor reads parameter {name!r}, which is missing"))
            continue
        try:
            handled = parse_type(declared_type)
            offered = [parse_type(text) for text in template_parameters[name]]
        except TypeParseError as error:
            problems.append((name, "unparseable_type", str(error)))
            continue
        too_wide = [str(t) for t in offered if not is_subtype(t, handled)]
        if too_wide:
            problems.append(
                (
                    name,
                    "parameter_type_mismatch",
                    f"the executor handles {declared_type} values, not {', '.join(too_wide)}",
                )
            )
    return problems
