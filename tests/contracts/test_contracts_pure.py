"""Contracts without a database: the registry, instantiation, every parse error, derived inputs/outputs."""

from __future__ import annotations

import csv
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from contracts.contracts import (
    _CONTRACTS,
    CONTRACTS,
    Contract,
    ContractInstance,
    ContractParameter,
    ContractParseError,
    parse_contract,
    register_contract,
)
from contracts.types import TypeParseError, parse_type

FIXTURES = Path(os.environ.get("UFDL_FIXTURES_DIR", "/work/shared/fixtures/ufdl"))

IC = "Domain<'Image Classification'>"
SK = "Framework<'scikit-learn', '1'>"
TRAIN = f"Train<{IC}, {SK}>"
PREDICT = f"Predict<{IC}, {SK}>"


def _strings(mapping: dict) -> dict:
    return {
        name: [str(type_) for type_ in value] if isinstance(value, tuple) else str(value)
        for name, value in mapping.items()
    }


def test_registry_lists_ufdl_job_contracts_in_order():
    with (FIXTURES / "catalogue" / "job_contracts.csv").open(encoding="utf-8") as rows:
        expected = [(row["name"], row["package"], row["cls"]) for row in csv.DictReader(rows)]
    assert [(name, contract.pkg, contract.cls) for name, contract in CONTRACTS.items()] == expected


def test_declarations_match_spec_section_4():
    assert CONTRACTS["Train"].signature() == {
        "name": "Train",
        "parameters": [
            {"name": "DomainType", "bound": "Domain<str>"},
            {"name": "FrameworkType", "bound": "Framework<str, str>"},
        ],
        "inputs": {"dataset": ["PK<Dataset<DomainType>>"]},
        "outputs": {"model": "Model<DomainType, FrameworkType>"},
    }
    assert CONTRACTS["Predict"].signature()["inputs"] == {
        "model": ["JobOutput<Model<DomainType, FrameworkType>>"],
        "dataset": ["PK<Dataset<DomainType>>", "Name<Dataset<DomainType>>"],
    }
    assert CONTRACTS["Predict"].signature()["outputs"] == {"predictions": "PK<Dataset<DomainType>>"}
    assert CONTRACTS["Export"].signature() == {"name": "Export", "parameters": [], "inputs": {}, "outputs": {}}


def test_train_instance():
    train = parse_contract(TRAIN)
    assert isinstance(train, ContractInstance)
    assert train.contract is CONTRACTS["Train"]
    assert train.contract.name == "Train"
    assert train.args == (parse_type(IC), parse_type(SK))
    assert str(train) == TRAIN
    assert train.type_parameters() == {"DomainType": parse_type(IC), "FrameworkType": parse_type(SK)}
    assert _strings(train.inputs()) == {"dataset": [f"PK<Dataset<{IC}>>"]}
    assert _strings(train.outputs()) == {"model": f"Model<{IC}, {SK}>"}


def test_predict_instance():
    predict = parse_contract(PREDICT)
    assert _strings(predict.inputs()) == {
        "model": [f"JobOutput<Model<{IC}, {SK}>>"],
        "dataset": [f"PK<Dataset<{IC}>>", f"Name<Dataset<{IC}>>"],
    }
    assert _strings(predict.outputs()) == {"predictions": f"PK<Dataset<{IC}>>"}


def test_export_instance():
    export = parse_contract("Export")
    assert parse_contract("Export<>") == export
    assert str(export) == "Export"
    assert (export.args, export.type_parameters(), export.inputs(), export.outputs()) == ((), {}, {}, {})


def test_signature_strings_for_the_api():
    assert parse_contract(TRAIN).signature() == {
        "contract": TRAIN,
        "name": "Train",
        "parameters": [
            {"name": "DomainType", "bound": "Domain<str>", "type": IC},
            {"name": "FrameworkType", "bound": "Framework<str, str>", "type": SK},
        ],
        "inputs": {"dataset": [f"PK<Dataset<{IC}>>"]},
        "outputs": {"model": f"Model<{IC}, {SK}>"},
    }


def test_unconstrained_arguments_and_canonical_form():
    instance = parse_contract("  Train < Domain , Framework<str,'1'> , >  ")
    assert str(instance) == "Train<Domain<str>, Framework<str, '1'>>"
    assert _strings(instance.outputs()) == {"model": "Model<Domain<str>, Framework<str, '1'>>"}


def test_instances_are_values():
    first = parse_contract(TRAIN)
    assert parse_contract(TRAIN) is first  # cached by string
    same = parse_contract(f"Train<{IC},{SK}>")
    assert same == first and hash(same) == hash(first) and same is not first
    assert first != parse_contract(PREDICT)
    assert pickle.loads(pickle.dumps(first)) == first
    with pytest.raises(AttributeError):
        first.args = ()  # type: ignore[misc]


def test_derived_mappings_are_copies():
    train = parse_contract(TRAIN)
    train.inputs().clear()
    train.outputs()["model"] = parse_type("str")
    assert list(train.inputs()) == ["dataset"]
    assert str(train.outputs()["model"]) == f"Model<{IC}, {SK}>"


def test_instantiate_from_types():
    train = CONTRACTS["Train"].instantiate((parse_type(IC), parse_type(SK)))
    assert train == parse_contract(TRAIN)
    with pytest.raises(ContractParseError, match="Expected 2 type-arguments but got 1"):
        CONTRACTS["Train"].instantiate((parse_type(IC),))


# (input, reason, cause)
ERROR_CASES = [
    ("Train", "arity", "Expected 2 type-arguments but got 0"),
    ("Train<>", "arity", "Expected 2 type-arguments but got 0"),
    (f"Train<{IC}>", "arity", "Expected 2 type-arguments but got 1"),
    (f"Train<{IC}, {SK}, {SK}>", "arity", "Expected 2 type-arguments but got 3"),
    (f"Export<{IC}>", "arity", "Expected 0 type-arguments but got 1"),
    (f"Train<{SK}, {IC}>", "bound", f"{SK} is not a sub-type of Domain<str>"),
    (f"Train<'x', {SK}>", "bound", "'x' is not a sub-type of Domain<str>"),
    (f"Predict<{IC}, Dataset>", "bound", "Dataset<Domain<str>> is not a sub-type of Framework<str, str>"),
    ("train<Domain, Framework>", "unknown_contract", 'Unknown contract-name "train"'),
    ("Bogus<Foo>", "unknown_contract", 'Unknown contract-name "Bogus"'),
    ("Domain<'x'>", "unknown_contract", 'Unknown contract-name "Domain"'),
    ("5", "unknown_contract", 'Unknown contract-name "5"'),
    (f"Train<Domain<5>, {SK}>", "bound", "5 is not a sub-type of str"),
    (f"Train<Domain<Foo>, {SK}>", "unknown_name", 'Unknown type-name "Foo"'),
    (f"Train<{IC}, {SK}", "syntax", "unclosed '<' at position 5"),
    (f"Train<{IC}, {SK}>>", "syntax", "unexpected '>'"),
    (f"Train<{IC},, {SK}>", "syntax", "expected a type"),
    (f"Train<Domain<'x>, {SK}>", "syntax", "unterminated string literal"),
    ("", "syntax", "empty type-string"),
    ("<Domain>", "syntax", "expected a contract name at position 0, found '<'"),
]


@pytest.mark.parametrize(("text", "reason", "cause"), ERROR_CASES, ids=lambda value: repr(value))
def test_parse_errors(text, reason, cause):
    with pytest.raises(ContractParseError) as caught:
        parse_contract(text)
    error = caught.value
    assert isinstance(error, ValueError) and not isinstance(error, TypeParseError)
    assert (error.text, error.reason) == (text, reason)
    assert cause in error.cause
    assert str(error) == f'Error parsing contract-string "{text}": {error.cause}'
    assert error.code == "contract_parse_error"


def test_contract_errors_chain_the_type_error():
    with pytest.raises(ContractParseError) as caught:
        parse_contract(f"Train<Domain<5>, {SK}>")
    assert isinstance(caught.value.__cause__, TypeParseError)


def test_registering_a_new_contract_is_one_declaration():
    evaluate = register_contract(
        Contract(
            name="EvaluateForTest",
            cls="tests.contracts.EvaluateForTest",
            parameters=(ContractParameter("DomainType", "Domain<str>"),),
            inputs={"predictions": ("PK<Dataset<DomainType>>",), "threshold": ("float", "Nothing")},
            outputs={"report": "Map<float>"},
        )
    )
    try:
        instance = parse_contract(f"EvaluateForTest<{IC}>")
        assert instance.contract is evaluate
        assert _strings(instance.inputs()) == {"predictions": [f"PK<Dataset<{IC}>>"], "threshold": ["float", "Nothing"]}
        assert _strings(instance.outputs()) == {"report": "Map<float>"}
    finally:
        del _CONTRACTS["EvaluateForTest"]
        parse_contract.cache_clear()


@pytest.mark.parametrize(
    ("contract", "message"),
    [
        (Contract(name="Train", cls="x.Train"), "new identifier"),
        (Contract(name="Domain", cls="x.Domain"), "not a type name"),
        (
            Contract(name="Twice", cls="x", parameters=(ContractParameter("A", "str"), ContractParameter("A", "str"))),
            "repeats a parameter name",
        ),
        (Contract(name="Shadow", cls="x", parameters=(ContractParameter("Dataset", "Domain"),)), "not a type name"),
        (Contract(name="NoTypes", cls="x", inputs={"x": ()}), "allows no type"),
        (
            Contract(
                name="BinaryIn",
                cls="x",
                parameters=(ContractParameter("D", "Domain"), ContractParameter("F", "Framework")),
                inputs={"model": ("Model<D, F>",)},
            ),
            "is not a JSON type",
        ),
    ],
    ids=lambda value: value if isinstance(value, str) else value.name,
)
def test_registration_rejects_bad_declarations(contract, message):
    with pytest.raises(ValueError, match=message):
        register_contract(contract)
    assert CONTRACTS.get(contract.name) is not contract


def test_registration_rejects_templates_that_do_not_parse():
    with pytest.raises(TypeParseError, match="is not a sub-type of"):
        register_contract(
            Contract(
                name="BadTemplate",
                cls="x",
                parameters=(ContractParameter("F", "Framework"),),
                outputs={"data": "Dataset<F>"},
            )
        )
    assert "BadTemplate" not in CONTRACTS


def test_the_type_language_imports_no_django():
    """The pure packages must load in a fresh interpreter without pulling Django in."""
    probe = (
        "import sys, contracts.types, contracts.contracts; "
        "loaded = sorted(m for m in sys.modules if m == 'django' or m.startswith('django.')); "
        "print(loaded); sys.exit(1 if loaded else 0)"
    )
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run([sys.executable, "-c", probe], cwd=root, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
