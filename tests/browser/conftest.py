"""Fixtures of the browser tests: an installation as ``make run`` leaves it (every shipped template)."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from jobtemplates.models import JobTemplate
from jobtemplates.services.templates import template_import
from tests.jobtemplates.conftest import REPO, meta_body

PASSWORD = "secret-password"  # tests.factories.UserFactory's


@pytest.fixture
def shipped(transactional_db, seeded_catalogue, admin_user):
    """Every template of templates/ (built-in and UFDL's), and a fan-out meta-template of UFDL's."""
    call_command("import_templates", str(REPO / "templates"), stdout=io.StringIO())
    train = JobTemplate.objects.get(name="mmclassification_0.25.0_resnet18_train")
    predict = JobTemplate.objects.get(name="mmclassification_0.25.0_image_class_predict")
    fan_out = template_import(
        data=meta_body(
            "resnet18_on_four_datasets",
            nodes={
                "train": {"name": train.name, "version": train.version},
                **{f"predict_{n}": {"name": predict.name, "version": predict.version} for n in range(4)},
            },
            dependencies=[
                {"from_node": "train", "from_output": "model", "to_node": f"predict_{n}", "to_input": "model"}
                for n in range(4)
            ],
        ),
        creator=admin_user,
    ).template
    shipped_meta = JobTemplate.objects.get(name="train_and_predict")
    return {"admin": admin_user, "fan_out": fan_out, "train_and_predict": shipped_meta}
