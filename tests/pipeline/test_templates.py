"""The shipped scikit-learn templates: they import with ``import_templates`` (workable first, meta after),
again without change, next to the versions before them, and export back to what imports as the same
template."""

from __future__ import annotations

import copy

import pytest

from jobtemplates.models import JobTemplate
from jobtemplates.services.templates import template_export, template_import
from tests.pipeline.conftest import (
    BUILTIN,
    IC_DATASET,
    PIPELINE_TEMPLATES,
    SKLEARN_MODEL,
    run_command,
    template_body,
)

pytestmark = pytest.mark.django_db

VERSION = 2  # of each of the three files: predict gained write_categories, train reads categories


@pytest.fixture
def imported(seeded_catalogue) -> dict[str, JobTemplate]:
    output = run_command("import_templates", str(BUILTIN))
    for name in PIPELINE_TEMPLATES:
        assert f"{BUILTIN / name}.json: created {name} v{VERSION}" in output, output
    return {name: JobTemplate.objects.get(name=name) for name in PIPELINE_TEMPLATES}


def test_import_then_reimport_is_unchanged(imported):
    again = run_command("import_templates", str(BUILTIN))
    for name, template in imported.items():
        assert f"{BUILTIN / name}.json: unchanged {name} v{VERSION} (pk {template.pk})" in again


def test_a_database_holding_the_first_versions_gets_the_new_ones_beside_them(seeded_catalogue):
    """``make run`` on a database seeded before: version 1 of each stays (jobs name it), version 2 is
    added, the meta-template's version 2 runs the children's version 2, and a third run changes nothing."""
    for name in PIPELINE_TEMPLATES:
        body = template_body(name)
        body["version"], body["description"] = 1, f"{name}, as version 1 read"
        body["specific"].get("parameters", {}).pop("write_categories", None)  # new in version 2
        if "nodes" in body["specific"]:
            for node in body["specific"]["nodes"].values():
                node["version"] = 1
        template_import(data=body, creator=None)
    output = run_command("import_templates", str(BUILTIN))
    for name in PIPELINE_TEMPLATES:
        assert f"{BUILTIN / name}.json: created {name} v2" in output, output
        assert JobTemplate.objects.filter(name=name).count() == 2
    meta = JobTemplate.objects.get(name="train_and_predict", version=2)
    assert {node.name: (node.child.name, node.child.version) for node in meta.nodes.all()} == {
        "train": ("sklearn_image_class_train", 2),
        "predict": ("sklearn_image_class_predict", 2),
    }
    again = run_command("import_templates", str(BUILTIN))
    assert all(f"{BUILTIN / name}.json: unchanged {name} v2" in again for name in PIPELINE_TEMPLATES), again


def test_the_workable_templates_wire_the_executors_to_their_contracts(imported, admin_client):
    train, predict = imported["sklearn_image_class_train"], imported["sklearn_image_class_predict"]
    assert admin_client.get(f"/v1/job-templates/{train.pk}/get-outputs").json() == {"model": SKLEARN_MODEL}
    assert admin_client.get(f"/v1/job-templates/{predict.pk}/get-outputs").json() == {"predictions": IC_DATASET}
    assert admin_client.get(f"/v1/job-templates/{predict.pk}/get-types").json() == {
        "DomainType": "Domain<'Image Classification'>",
        "FrameworkType": "Framework<'scikit-learn', '1'>",
    }
    body = admin_client.get(f"/v1/job-templates/{train.pk}").json()
    assert body["executor_class"] == "executors.builtin.sklearn.ImageClassificationTrain"
    assert body["required_packages"] == "scikit-learn>=1.5 pillow>=10 numpy>=1.26"
    assert {name: spec["default"] for name, spec in body["parameters"].items()} == {
        "image_size": 16,
        "classifier": "svc",
        "C": 10.0,
        "max_iter": 1000,
        "n_estimators": 200,
        "test_fraction": 0.2,
        "random_seed": 0,
    }
    assert all(len(spec["help"]) > 40 for spec in body["parameters"].values())


def test_the_meta_template_feeds_the_trained_model_to_predict(imported, admin_client):
    body = admin_client.get(f"/v1/job-templates/{imported['train_and_predict'].pk}").json()
    assert body["kind"] == "meta"
    assert body["graph"]["dependencies"] == [
        {"from_node": "train", "from_output": "model", "to_node": "predict", "to_input": "model"}
    ]
    # The model comes from the edge; the caller gives the two datasets.
    assert set(body["inputs"]) == {"train:dataset", "predict:dataset"}
    parameters = admin_client.get(f"/v1/job-templates/{imported['train_and_predict'].pk}/get-all-parameters").json()
    assert {"train:classifier", "train:image_size", "predict:copy_images", "predict:write_categories"} <= set(
        parameters
    )
    assert parameters["predict:write_categories"]["default"]["value"] is True
    matching = admin_client.get(
        "/v1/job-templates/get-all-matching-templates/Predict", {"model": f"JobOutput<{SKLEARN_MODEL}>"}
    ).json()
    names = {t["name"] for t in matching}
    assert "sklearn_image_class_predict" in names and "sleep_predict" not in names  # noop models are no fit


@pytest.mark.parametrize("name", PIPELINE_TEMPLATES)
def test_export_imports_back(imported, admin_user, name):
    template = imported[name]
    exported = template_export(template=template)
    same = template_import(data=copy.deepcopy(exported), creator=admin_user)
    assert same.template.pk == template.pk and not same.created
    exported.pop("version")
    copy_of = template_import(data=exported, creator=admin_user).template
    assert copy_of.version == VERSION + 1
    assert {**template_export(template=copy_of), "version": None} == {
        **template_export(template=template),
        "version": None,
    }
