"""Job contracts (spec §4): typed parameters, inputs and outputs; ``Train``, ``Predict``, ``Export``.

A contract is declared once with ``register_contract(Contract(...))``: its ordered type parameters
(name and bound), its inputs (each a tuple of allowed type templates over the parameter names) and
its outputs (one type template each). ``parse_contract`` instantiates one from a contract string
such as ``Train<Domain<'Image Classification'>, Framework<'scikit-learn', '1'>>``. Pure Python.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from types import MappingProxyType
from typing import Any

from contracts.types import TYPE_CLASSES, Type, TypeParseError, is_json_type, is_subtype, parse_type
from contracts.types.errors import ParseError
from contracts.types.parser import PARSE_CACHE_SIZE, parse_application, parse_type_template


class ContractParseError(ParseError):
    """A contract string is malformed, names an unknown contract, or has wrong or ill-bounded arguments.

    A ``ValueError`` with ``text``, ``cause``, ``reason`` and ``position`` (see ``ParseError``).
    """

    code = "contract_parse_error"
    subject = "contract-string"


@dataclass(frozen=True)
class ContractParameter:
    """A type parameter of a contract: its name (used in the templates) and its bound."""

    name: str
    bound_text: str

    @cached_property
    def bound(self) -> Type:
        return parse_type(self.bound_text)


@dataclass(frozen=True, eq=False)
class Contract:
    """A contract declaration; ``inputs``/``outputs`` hold type templates over the parameter names."""

    name: str
    cls: str
    parameters: tuple[ContractParameter, ...] = ()
    inputs: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    outputs: Mapping[str, str] = field(default_factory=dict)
    pkg: str = "ufdl.jobcontracts"

    def __post_init__(self) -> None:
        # Freeze the mappings so a registered contract cannot be changed behind the caches' backs.
        object.__setattr__(self, "inputs", MappingProxyType({k: tuple(v) for k, v in self.inputs.items()}))
        object.__setattr__(self, "outputs", MappingProxyType(dict(self.outputs)))

    def instantiate(self, arguments: tuple[Type, ...]) -> ContractInstance:
        """Apply the contract to type arguments (exactly one per parameter, each within its bound)."""
        text = _format_application(self.name, arguments)
        problem = self._arguments_problem(arguments)
        if problem is not None:
            raise ContractParseError(text, problem[1], reason=problem[0])
        return ContractInstance(self, tuple(arguments))

    def signature(self) -> dict[str, Any]:
        """The declaration as strings, for ``/v1/job-contracts/{pk}``."""
        return {
            "name": self.name,
            "parameters": [{"name": p.name, "bound": str(p.bound)} for p in self.parameters],
            "inputs": {name: list(templates) for name, templates in self.inputs.items()},
            "outputs": dict(self.outputs),
        }

    def _arguments_problem(self, arguments: tuple[Type, ...] | list[Type]) -> tuple[str, str] | None:
        if len(arguments) != len(self.parameters):
            return "arity", f"Expected {len(self.parameters)} type-arguments but got {len(arguments)}"
        for argument, parameter in zip(arguments, self.parameters, strict=True):
            if not is_subtype(argument, parameter.bound):
                return "bound", f"{argument} is not a sub-type of {parameter.bound}"
        return None

    def __repr__(self) -> str:
        return f"<Contract {self.name}>"


@dataclass(frozen=True)
class ContractInstance:
    """A contract applied to its type arguments; inputs and outputs are worked out once."""

    contract: Contract
    args: tuple[Type, ...]
    _inputs: Mapping[str, tuple[Type, ...]] = field(init=False, repr=False, compare=False)
    _outputs: Mapping[str, Type] = field(init=False, repr=False, compare=False)
    _text: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        variables = self.type_parameters()
        inputs = {
            name: tuple(parse_type_template(template, variables) for template in templates)
            for name, templates in self.contract.inputs.items()
        }
        outputs = {name: parse_type_template(template, variables) for name, template in self.contract.outputs.items()}
        object.__setattr__(self, "_inputs", MappingProxyType(inputs))
        object.__setattr__(self, "_outputs", MappingProxyType(outputs))
        object.__setattr__(self, "_text", _format_application(self.contract.name, self.args))

    def __str__(self) -> str:
        return self._text

    def __reduce__(self) -> tuple[Callable[[str], ContractInstance], tuple[str]]:
        return (parse_contract, (self._text,))

    def type_parameters(self) -> dict[str, Type]:
        """Parameter name to argument (UFDL's get-types): ``{"DomainType": Domain<'...'>, ...}``."""
        return {
            parameter.name: argument for parameter, argument in zip(self.contract.parameters, self.args, strict=True)
        }

    def inputs(self) -> dict[str, tuple[Type, ...]]:
        """Input name to its allowed types."""
        return dict(self._inputs)

    def outputs(self) -> dict[str, Type]:
        """Output name to its type (UFDL's get-outputs)."""
        return dict(self._outputs)

    def signature(self) -> dict[str, Any]:
        """Everything as strings: the contract string, parameters (bound and argument), inputs, outputs."""
        return {
            "contract": self._text,
            "name": self.contract.name,
            "parameters": [
                {"name": parameter.name, "bound": str(parameter.bound), "type": str(argument)}
                for parameter, argument in zip(self.contract.parameters, self.args, strict=True)
            ],
            "inputs": {name: [str(allowed) for allowed in types] for name, types in self._inputs.items()},
            "outputs": {name: str(output) for name, output in self._outputs.items()},
        }


_CONTRACTS: dict[str, Contract] = {}

CONTRACTS: Mapping[str, Contract] = MappingProxyType(_CONTRACTS)
"""Every registered contract by name, in registration order (the ``/v1/job-contracts`` order)."""


def register_contract(contract: Contract) -> Contract:
    """Add a contract to the registry after checking its declaration.

    The name must be new and not a type name; parameter names must be distinct identifiers that are
    not type names; every template must parse with the parameters at their bounds, and input
    templates must be JSON types (binary values cannot be sent in).
    """
    name = contract.name
    if not name.isidentifier() or name in _CONTRACTS or name in TYPE_CLASSES:
        raise ValueError(f"contract name {name!r} must be a new identifier that is not a type name")
    parameter_names = [parameter.name for parameter in contract.parameters]
    if len(set(parameter_names)) != len(parameter_names):
        raise ValueError(f"contract {name!r} repeats a parameter name")
    for parameter_name in parameter_names:
        if not parameter_name.isidentifier() or parameter_name in TYPE_CLASSES:
            raise ValueError(f"contract {name!r}: parameter {parameter_name!r} must be an identifier, not a type name")
    at_bounds = {parameter.name: parameter.bound for parameter in contract.parameters}
    for input_name, templates in contract.inputs.items():
        if not templates:
            raise ValueError(f"contract {name!r}: input {input_name!r} allows no type")
        for template in templates:
            if not is_json_type(parse_type_template(template, at_bounds)):
                raise ValueError(f"contract {name!r}: input {input_name!r} type {template!r} is not a JSON type")
    for template in contract.outputs.values():
        parse_type_template(template, at_bounds)
    _CONTRACTS[name] = contract
    return contract


@lru_cache(maxsize=PARSE_CACHE_SIZE)
def parse_contract(text: str) -> ContractInstance:
    """Instantiate a contract from its string; raises ContractParseError naming the input and the cause.

    No defaulting: ``Train`` needs both arguments (``Export`` and ``Export<>`` take none).
    """
    try:
        name, arguments = parse_application(text, heads=_CONTRACTS, head_kind="contract")
    except TypeParseError as error:
        raise ContractParseError(text, error.cause, reason=error.reason, position=error.position) from error
    contract = _CONTRACTS[name]
    problem = contract._arguments_problem(arguments or ())
    if problem is not None:
        raise ContractParseError(text, problem[1], reason=problem[0])
    return ContractInstance(contract, tuple(arguments or ()))


def _format_application(name: str, arguments: tuple[Type, ...] | list[Type]) -> str:
    return f"{name}<{', '.join(str(argument) for argument in arguments)}>" if arguments else name


_DOMAIN_AND_FRAMEWORK = (
    ContractParameter("DomainType", "Domain<str>"),
    ContractParameter("FrameworkType", "Framework<str, str>"),
)

PREDICT = register_contract(
    Contract(
        name="Predict",
        cls="ufdl.jobcontracts.standard.Predict",
        parameters=_DOMAIN_AND_FRAMEWORK,
        inputs={
            "model": ("JobOutput<Model<DomainType, FrameworkType>>",),
            "dataset": ("PK<Dataset<DomainType>>", "Name<Dataset<DomainType>>"),
        },
        outputs={"predictions": "PK<Dataset<DomainType>>"},
    )
)

TRAIN = register_contract(
    Contract(
        name="Train",
        cls="ufdl.jobcontracts.standard.Train",
        parameters=_DOMAIN_AND_FRAMEWORK,
        inputs={"dataset": ("PK<Dataset<DomainType>>",)},
        outputs={"model": "Model<DomainType, FrameworkType>"},
    )
)

EXPORT = register_contract(Contract(name="Export", cls="ufdl.jobcontracts.standard.Export"))
