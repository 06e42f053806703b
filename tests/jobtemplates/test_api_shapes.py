"""Response shapes of ``/v1/job-templates`` (http-api.md §3.1, §3.2, §3.5), pinned two ways.

* Golden files (``tests/jobtemplates/golden/*.json``): our whole answer, pks, users and times
  normalised, compared value for value with JSON types (``0`` is not ``0.0``, ``1`` is not ``true``). Regenerate after a
  deliberate change with ``UPDATE_GOLDEN=1 pytest tests/jobtemplates/test_api_shapes.py`` and review
  the diff.
* UFDL's own answers (``/work/shared/fixtures/ufdl/reference-responses``, copied beside the golden
  files as ``golden/ufdl/``): every compat key must hold what UFDL answered for the same template and
  request; our additions come after them.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

import pytest

from contracts.models import DockerImage
from jobtemplates.services.templates import template_import
from tests.int_bounds import with_int_bounds
from tests.jobtemplates.conftest import UFDL_TEMPLATES, load_template, meta_body

pytestmark = pytest.mark.django_db

GOLDEN = Path(__file__).parent / "golden"
UFDL_REFERENCE = GOLDEN / "ufdl"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"

# UFDL's representation keys, in its order; ours follow (http-api.md §3.1).
COMPAT_KEYS = [
    "pk",
    "name",
    "version",
    "description",
    "scope",
    "domain",
    "licence",
    "creator",
    "creation_time",
    "deletion_time",
    "type",
    "executor_class",
    "required_packages",
    "parameters",
]
# Runnability (docs/runners.md): who runs it, its routing (workable only), and whether anything can now.
RUNNABILITY_KEYS = ["runnable", "runnable_by", "not_runnable_reason"]
OUR_WORKABLE_KEYS = ["kind", "project", "inputs", "outputs", "runner", "queue", "min_hardware_generation"]
OUR_WORKABLE_KEYS += RUNNABILITY_KEYS
OUR_META_KEYS = ["kind", "project", "inputs", "outputs", "graph", "runner", *RUNNABILITY_KEYS]
# Values that differ per run (database pks, users, times): compared by presence and type only.
ROW_KEYS = {"pk", "creator", "licence", "existing"}
TIME_KEYS = {"creation_time", "deletion_time"}

DOGS_TRAIN = "dogs_dummy_image_class_train"
TF_TRAIN = "tensorflow_1_14_image_class_train"


# --- normalising and comparing ---------------------------------------------------------------------


def normalise(data: Any, key: str | None = None) -> Any:
    """``data`` with run-dependent values replaced by placeholders (``"<pk>"``, ``"<time>"``)."""
    if isinstance(data, dict):
        return {k: normalise(v, k) for k, v in data.items()}
    if isinstance(data, list):
        if key == "enum" and data and all(isinstance(item, int) for item in data):
            return ["<pk>"] * len(data)  # a PK/JobOutput enum: visible rows' pks
        return [normalise(item) for item in data]
    if key in ROW_KEYS and isinstance(data, int) and not isinstance(data, bool):
        return f"<{key}>"
    if key in TIME_KEYS and isinstance(data, str):
        return "<time>"
    return data


def assert_golden(name: str, data: Any) -> None:
    """``data`` (normalised) equals ``golden/<name>.json``, number types included (``0`` is not ``0.0``).

    Object key order is not compared here: PostgreSQL's jsonb stores the keys of JSON columns in its
    own order, SQLite keeps them as written. The tests pin the order of the representation's own keys.
    """
    path = GOLDEN / f"{name}.json"
    normalised = normalise(data)
    if UPDATE:
        path.write_text(json.dumps(normalised, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    elif not path.exists():
        pytest.fail(f"{path} is missing; run with UPDATE_GOLDEN=1 to write it, then review it")
    expected = json.loads(path.read_text(encoding="utf-8"))
    assert strictly_equal(normalised, expected) == [], f"{name}: the answer differs from {path}"


def strictly_equal(ours: Any, theirs: Any, path: str = "") -> list[str]:
    """Where ``ours`` and ``theirs`` differ, including int vs float and bool vs int (JSON types)."""
    if type(ours) is not type(theirs):
        return [f"{path}: {ours!r} ({type(ours).__name__}) != {theirs!r} ({type(theirs).__name__})"]
    if isinstance(ours, dict):
        differences = [f"{path}.{k}: missing" for k in theirs if k not in ours]
        differences += [f"{path}.{k}: extra" for k in ours if k not in theirs]
        for k in ours.keys() & theirs.keys():
            differences += strictly_equal(ours[k], theirs[k], f"{path}.{k}")
        return differences
    if isinstance(ours, list):
        if len(ours) != len(theirs):
            return [f"{path}: {len(ours)} items != {len(theirs)}"]
        return [
            d for i, (a, b) in enumerate(zip(ours, theirs, strict=True)) for d in strictly_equal(a, b, f"{path}[{i}]")
        ]
    return [] if ours == theirs else [f"{path}: {ours!r} != {theirs!r}"]


def ufdl_reference(name: str) -> dict:
    """One of UFDL's recorded exchanges: ``{"request": {...}, "response": {"status", "json"}}``."""
    return json.loads((UFDL_REFERENCE / name).read_text(encoding="utf-8"))


def compat_part(template: dict) -> dict:
    return {key: template[key] for key in COMPAT_KEYS if key in template}


# --- fixtures --------------------------------------------------------------------------------------


@pytest.fixture
def ufdl_templates(catalogue) -> dict[str, int]:
    """All 29 UFDL templates imported in file order, without a creator (as seeding does); name → pk."""
    imported = (template_import(data=load_template(path), creator=None).template for path in UFDL_TEMPLATES)
    return {template.name: template.pk for template in imported}


@pytest.fixture
def meta_pk(ufdl_templates, import_body) -> int:
    return import_body(meta_body()).pk


# --- list ------------------------------------------------------------------------------------------


class TestList:
    def test_post_list_golden(self, client, ufdl_templates, meta_pk):
        spec = {"expressions": [{"type": "contains", "field": "name", "sub_string": "dogs"}]}
        response = client.post("/v1/job-templates/list", spec, format="json")
        assert response.status_code == 200
        assert [t["name"] for t in response.json()] == [
            DOGS_TRAIN,
            "dogs_dummy_image_class_predict",
            "dogs_train_and_predict",
        ]
        assert_golden("list_dogs", response.json())

    def test_get_list_golden(self, client, ufdl_templates, meta_pk):
        response = client.get("/v1/job-templates", {"page_size": 1, "name": DOGS_TRAIN})
        assert response.status_code == 200
        assert list(response.json()) == ["count", "next", "previous", "results"]
        assert_golden("get_list_page", response.json())

    def test_every_ufdl_template_reads_as_ufdl_listed_it(self, client, ufdl_templates):
        """004: every compat key of every template equals UFDL's (parameter order aside: UFDL's came
        out of its database in a different order for two templates; ours keep the file's)."""
        theirs = {t["name"]: t for t in ufdl_reference("004_list_all.json")["response"]["json"]}
        ours = {t["name"]: t for t in client.post("/v1/job-templates/list").json()}
        assert set(ours) == set(ufdl_templates) and set(ours) <= set(theirs)
        for name, template in ours.items():
            assert list(template) == COMPAT_KEYS + OUR_WORKABLE_KEYS, name
            differences = strictly_equal(normalise(compat_part(template)), normalise(theirs[name]))
            assert differences == [], name

    def test_filtered_list_answers_what_ufdl_answered(self, client, ufdl_templates):
        """006: name icontains 'TRAIN' and domain.name == 'ic', by name descending: the same templates
        in the same order."""
        reference = ufdl_reference("006_list_filtered_contains_exact_orderby.json")
        response = client.post("/v1/job-templates/list", reference["request"]["body"], format="json")
        assert response.status_code == reference["response"]["status"]
        assert [t["name"] for t in response.json()] == [t["name"] for t in reference["response"]["json"]]


# --- retrieve --------------------------------------------------------------------------------------


class TestRetrieve:
    def test_workable_matches_ufdl_and_golden(self, client, ufdl_templates):
        reference = ufdl_reference("009_retrieve.json")["response"]
        response = client.get(f"/v1/job-templates/{ufdl_templates[DOGS_TRAIN]}")
        assert response.status_code == reference["status"]
        body = response.json()
        assert list(body) == COMPAT_KEYS + OUR_WORKABLE_KEYS
        assert strictly_equal(normalise(compat_part(body)), normalise(reference["json"])) == []
        assert body["kind"] == "workable" and body["project"] is None
        assert body["inputs"] == {"dataset": ["PK<Dataset<Domain<'Image Classification'>>>"]}
        assert_golden("retrieve_workable", body)

    def test_meta_golden(self, client, meta_pk):
        body = client.get(f"/v1/job-templates/{meta_pk}").json()
        # A meta-template has no executor: those two compat keys are absent, the graph is added.
        assert (
            list(body) == [k for k in COMPAT_KEYS if k not in ("executor_class", "required_packages")] + OUR_META_KEYS
        )
        assert body["type"] == "Predict<Domain<'Image Classification'>, Framework<'dogs_dummy', '1'>>"
        assert body["parameters"]["train:factor"]["default"] == 5  # the node's override
        assert_golden("retrieve_meta", body)

    def test_soft_deleted_golden(self, client, admin_client, ufdl_templates):
        pk = ufdl_templates[DOGS_TRAIN]
        assert admin_client.delete(f"/v1/job-templates/{pk}").status_code == 204
        body = client.get(f"/v1/job-templates/{pk}").json()
        assert isinstance(body["deletion_time"], str) and body["deletion_time"].endswith("Z")
        assert_golden("retrieve_soft_deleted", body)


# --- get-all-parameters, get-types, get-outputs ----------------------------------------------------


class TestParameters:
    def test_dogs_train_is_ufdl_014_exactly(self, client, ufdl_templates):
        reference = ufdl_reference("014_get_all_parameters.json")["response"]
        response = client.get(f"/v1/job-templates/{ufdl_templates[DOGS_TRAIN]}/get-all-parameters")
        assert response.status_code == reference["status"]
        # Ours bound integers to bigint (tests/int_bounds.py); everything else is UFDL's answer exactly.
        assert strictly_equal(response.json(), with_int_bounds(reference["json"])) == []
        assert list(response.json()) == list(reference["json"])
        assert_golden("parameters_dogs_train", response.json())

    def test_tensorflow_train_against_ufdl_015(self, client, ufdl_templates):
        """015 key for key: value types, the nested default with its schema, the ``Name`` enum of docker
        image names and the ``PK`` enum of their pks. The row type is checked apart (below)."""
        reference = ufdl_reference("015_get_all_parameters_tf.json")["response"]["json"]
        ours = client.get(f"/v1/job-templates/{ufdl_templates[TF_TRAIN]}/get-all-parameters").json()
        assert list(ours) == list(reference)
        docker = "DockerImage<Domain<'Image Classification'>, Framework<'tensorflow', '1.14'>>"
        for name, entry in ours.items():
            assert list(entry) == list(reference[name]), name
            assert list(entry["types"]) == list(reference[name]["types"]), name
            for type_text, schema in entry["types"].items():
                if type_text == docker:
                    continue
                expected = with_int_bounds(reference[name]["types"][type_text])
                assert strictly_equal(normalise(schema, None), normalise(expected)) == []
            if "default" in entry:
                assert strictly_equal(entry["default"], with_int_bounds(reference[name]["default"])) == [], name
        image_types = ours["docker_image"]["types"]
        assert image_types[f"Name<{docker}>"] == {"enum": ["tf_imageclass v1.14", "tf_imageclass_cpu v1.14"]}
        expected_pks = sorted(DockerImage.objects.filter(name__startswith="tf_imageclass").values_list("pk", flat=True))
        assert sorted(image_types[f"PK<{docker}>"]["enum"]) == expected_pks
        assert_golden("parameters_tensorflow_train", ours)

    def test_row_type_schema_is_ufdls_object_schema(self, client, ufdl_templates):
        """015's whole DockerImage schema, in its key order, but for ``registry_password``: secrets are
        never part of our rows, so the property is left out (a value naming it is invalid)."""
        reference = ufdl_reference("015_get_all_parameters_tf.json")["response"]["json"]
        docker = "DockerImage<Domain<'Image Classification'>, Framework<'tensorflow', '1.14'>>"
        expected = copy.deepcopy(reference["docker_image"]["types"][docker])
        del expected["properties"]["registry_password"]
        response = client.get(f"/v1/job-templates/{ufdl_templates[TF_TRAIN]}/get-all-parameters")
        schema = response.json()["docker_image"]["types"][docker]
        assert strictly_equal(schema, expected) == []
        assert json.dumps(schema) == json.dumps(expected)
        assert b"registry_password" not in response.content

    def test_meta_golden(self, client, meta_pk):
        body = client.get(f"/v1/job-templates/{meta_pk}/get-all-parameters").json()
        assert body["train:factor"]["default"] == {
            "value": 5,
            "type": "int",
            "schema": {"type": "integer", "minimum": -(2**63), "maximum": 2**63 - 1},
            "const": False,
        }
        assert_golden("parameters_meta", body)

    def test_get_types_and_outputs_are_ufdl_012_013_exactly(self, client, ufdl_templates):
        pk = ufdl_templates[DOGS_TRAIN]
        for route, reference_name in (("get-types", "012_get_types.json"), ("get-outputs", "013_get_outputs.json")):
            reference = ufdl_reference(reference_name)["response"]
            response = client.get(f"/v1/job-templates/{pk}/{route}")
            assert response.status_code == reference["status"]
            assert strictly_equal(response.json(), reference["json"]) == []
            assert list(response.json()) == list(reference["json"])

    def test_predict_outputs_and_meta_types_outputs(self, client, ufdl_templates, meta_pk):
        predict = client.get(f"/v1/job-templates/{ufdl_templates['dogs_dummy_image_class_predict']}/get-outputs")
        assert predict.json() == {"predictions": "PK<Dataset<Domain<'Image Classification'>>>"}
        assert_golden("types_meta", client.get(f"/v1/job-templates/{meta_pk}/get-types").json())
        assert_golden("outputs_meta", client.get(f"/v1/job-templates/{meta_pk}/get-outputs").json())


# --- matching, import, export, graph ---------------------------------------------------------------


class TestMatching:
    def test_same_templates_as_ufdl_024(self, client, ufdl_templates):
        reference = ufdl_reference("024_matching_predict_dataset_ic.json")
        response = client.get(reference["request"]["path"], reference["request"]["query"])
        assert response.status_code == reference["response"]["status"]
        assert [t["name"] for t in response.json()] == [t["name"] for t in reference["response"]["json"]]
        for ours, theirs in zip(response.json(), reference["response"]["json"], strict=True):
            assert strictly_equal(normalise(compat_part(ours)), normalise(theirs)) == []
        assert_golden("matching_predict_ic", [t["name"] for t in response.json()])


class TestImport:
    def test_answer_is_ufdl_032_plus_ours(self, admin_client, catalogue):
        reference = ufdl_reference("032_import.json")
        response = admin_client.post("/v1/job-templates/import", reference["request"]["body"], format="json")
        assert response.status_code == reference["response"]["status"]
        body = response.json()
        assert list(body) == COMPAT_KEYS + OUR_WORKABLE_KEYS + ["warnings"]
        ours, theirs = normalise(compat_part(body)), normalise(reference["response"]["json"])
        # UFDL's seeding left creator null; an import over HTTP records the admin.
        assert strictly_equal({**ours, "creator": None}, theirs) == []
        assert body["warnings"][0]["path"] == "specific.executor_class"
        assert_golden("import_answer", body)

    def test_same_name_again_is_version_2_as_ufdl_033(self, admin_client, catalogue):
        first = ufdl_reference("032_import.json")["request"]["body"]
        again = ufdl_reference("033_import_same_name_again.json")
        admin_client.post("/v1/job-templates/import", first, format="json")
        response = admin_client.post("/v1/job-templates/import", again["request"]["body"], format="json")
        assert response.status_code == 200
        assert response.json()["version"] == again["response"]["json"]["version"] == 2

    def test_validate_golden(self, admin_client, catalogue):
        body = ufdl_reference("032_import.json")["request"]["body"]
        response = admin_client.post("/v1/job-templates/validate", body, format="json")
        assert response.status_code == 200
        assert response.json()["pk"] is None and response.json()["would_create"] is True
        assert_golden("validate_answer", response.json())


class TestExport:
    def test_workable_golden_and_equal_to_the_file(self, admin_client, ufdl_templates, ufdl_bodies):
        response = admin_client.get(f"/v1/job-templates/{ufdl_templates[DOGS_TRAIN]}/export")
        assert response.status_code == 200
        exported = response.json()
        # A public template has no project: the key is left out, never null (test_export_spec.py).
        assert list(exported) == ["name", "version", "description", "scope", "domain", "licence", "specific"]
        source = copy.deepcopy(ufdl_bodies["image-classification__0010_dogs_dummy_image_class_train.json"])
        # Export fills in every field the file left to its default.
        for parameter in source["specific"]["parameters"].values():
            if "default" in parameter:
                parameter.setdefault("default_type", parameter["types"][0])
                parameter.setdefault("const", False)
        assert exported == source
        assert_golden("export_workable", exported)

    def test_meta_golden(self, admin_client, meta_pk):
        response = admin_client.get(f"/v1/job-templates/{meta_pk}/export")
        assert response.status_code == 200
        assert_golden("export_meta", response.json())


class TestGraph:
    def test_json_golden(self, client, meta_pk):
        response = client.get(f"/v1/job-templates/{meta_pk}/graph")
        assert response.status_code == 200
        assert_golden("graph_meta", response.json())
