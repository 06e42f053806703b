"""Every type and contract string in UFDL's 29 job templates, and the spec §4 get-types/get-outputs strings."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from contracts.contracts import parse_contract
from contracts.types import accepts, is_json_type, json_schema, parse_type, validate_value
from tests.int_bounds import with_int_bounds

FIXTURES = Path(os.environ.get("UFDL_FIXTURES_DIR", "/work/shared/fixtures/ufdl"))
TEMPLATES = {
    path.name: json.loads(path.read_text(encoding="utf-8")) for path in sorted(FIXTURES.glob("templates/*.json"))
}
PARAMETERS = [
    (template_name, parameter_name, parameter)
    for template_name, template in TEMPLATES.items()
    for parameter_name, parameter in template["specific"]["parameters"].items()
]


def test_all_templates_are_read():
    assert len(TEMPLATES) == 29


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_job_type_parses_as_a_contract(name):
    job_type = TEMPLATES[name]["specific"]["job_type"]
    instance = parse_contract(job_type)
    assert str(instance) == job_type
    assert instance.contract.name in ("Train", "Predict")


@pytest.mark.parametrize(
    ("template", "parameter", "spec"), PARAMETERS, ids=lambda value: value if isinstance(value, str) else ""
)
def test_parameter_types_parse_and_have_schemas(template, parameter, spec):
    types = [parse_type(text) for text in spec["types"]]
    for text, parsed in zip(spec["types"], types, strict=True):
        # The fixtures are written canonically except for the Array<T> shorthand.
        assert str(parsed) == text or (text.startswith("Array<") and str(parsed) == text[:-1] + ", int>")
        assert is_json_type(parsed), f"{template}: parameter {parameter} allows the non-JSON type {text}"
        assert json_schema(parsed) is not None


@pytest.mark.parametrize(
    ("template", "parameter", "spec"),
    [case for case in PARAMETERS if "default" in case[2]],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_defaults_are_valid_for_an_allowed_type(template, parameter, spec):
    """UFDL's import picks the first allowed type the default is valid for; there must be one."""
    allowed = [parse_type(text) for text in spec["types"]]
    valid_for = [type_ for type_ in allowed if not validate_value(type_, spec["default"])]
    assert valid_for, f"{template}: default of {parameter} fits none of {spec['types']}"
    assert accepts(allowed, valid_for[0])


SPEC_TRAIN = "Train<Domain<'Image Classification'>, Framework<'dogs_dummy', '1'>>"
SPEC_PREDICT = "Predict<Domain<'Image Classification'>, Framework<'dogs_dummy', '1'>>"


def _strings(types: dict) -> dict:
    return {name: str(type_) for name, type_ in types.items()}


def test_spec_get_types_and_get_outputs_strings():
    train = parse_contract(SPEC_TRAIN)
    assert _strings(train.type_parameters()) == {
        "DomainType": "Domain<'Image Classification'>",
        "FrameworkType": "Framework<'dogs_dummy', '1'>",
    }
    assert _strings(train.outputs()) == {"model": "Model<Domain<'Image Classification'>, Framework<'dogs_dummy', '1'>>"}
    predict = parse_contract(SPEC_PREDICT)
    assert _strings(predict.outputs()) == {"predictions": "PK<Dataset<Domain<'Image Classification'>>>"}


def test_reference_responses_for_get_types_and_get_outputs():
    types = json.loads((FIXTURES / "reference-responses" / "012_get_types.json").read_text(encoding="utf-8"))
    outputs = json.loads((FIXTURES / "reference-responses" / "013_get_outputs.json").read_text(encoding="utf-8"))
    template = TEMPLATES["image-classification__0010_dogs_dummy_image_class_train.json"]
    instance = parse_contract(template["specific"]["job_type"])
    assert _strings(instance.type_parameters()) == types["response"]["json"]
    assert _strings(instance.outputs()) == outputs["response"]["json"]


def test_reference_response_schemas_of_value_types():
    """The schemas UFDL served for the dogs_dummy and tensorflow templates' plain parameters."""
    for file_name in ("014_get_all_parameters.json", "015_get_all_parameters_tf.json"):
        response = json.loads((FIXTURES / "reference-responses" / file_name).read_text(encoding="utf-8"))
        for parameter in response["response"]["json"].values():
            for text, schema in parameter["types"].items():
                if "enum" in schema or schema.get("type") == "object":
                    continue  # rows and pks come from the server's resolver
                assert json_schema(parse_type(text)) == with_int_bounds(schema), text


def test_predict_inputs_accept_train_outputs():
    """A Train template's model output feeds the matching Predict template's model input."""
    for name, template in TEMPLATES.items():
        instance = parse_contract(template["specific"]["job_type"])
        if instance.contract.name != "Train":
            continue
        predict = parse_contract(str(instance).replace("Train<", "Predict<", 1))
        model = instance.outputs()["model"]
        assert accepts(predict.inputs()["model"], parse_type(f"JobOutput<{model}>")), name
        assert not accepts(predict.inputs()["model"], model)
