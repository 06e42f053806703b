"""Fixtures for template tests: the seeded catalogue, the UFDL fixture templates, import helpers."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from contracts.services.catalogue_seed import catalogue_seed
from jobtemplates.services.templates import template_import

REPO = Path(__file__).resolve().parents[2]
UFDL_TEMPLATES = sorted((REPO / "templates" / "ufdl").glob("*.json"))


def load_template(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def catalogue(db):
    """The seeded catalogue (licences, domains, frameworks, docker images, …)."""
    return catalogue_seed()


@pytest.fixture
def ufdl_bodies() -> dict[str, dict]:
    return {path.name: load_template(path) for path in UFDL_TEMPLATES}


@pytest.fixture
def import_body(catalogue, admin_user):
    """Import a body as the admin; returns the template."""

    def run(body: dict, **kwargs):
        return template_import(data=copy.deepcopy(body), creator=admin_user, **kwargs).template

    return run


@pytest.fixture
def train_predict(import_body, ufdl_bodies):
    """The dogs_dummy train and predict templates (image classification, Framework<'dogs_dummy', '1'>)."""
    train = import_body(ufdl_bodies["image-classification__0010_dogs_dummy_image_class_train.json"])
    predict = import_body(ufdl_bodies["image-classification__0011_dogs_dummy_image_class_predict.json"])
    return train, predict


def meta_body(name: str = "dogs_train_and_predict", **specific) -> dict:
    """A train → predict meta-template over the dogs_dummy templates; ``specific`` replaces parts."""
    body = {
        "name": name,
        "description": "train, then predict with the trained model",
        "scope": "public",
        "domain": "ic",
        "licence": "Apache 2.0",
        "specific": {
            "nodes": {
                "train": {
                    "name": "dogs_dummy_image_class_train",
                    "version": 1,
                    "parameter_default_overrides": {"factor": {"default": 5}},
                },
                "predict": {"name": "dogs_dummy_image_class_predict"},
            },
            "dependencies": [{"from_node": "train", "from_output": "model", "to_node": "predict", "to_input": "model"}],
        },
    }
    body["specific"].update(specific)
    return body
