"""Fixtures of the executors' tests: committed data a worker can see (the catalogue, the built-in
templates, a public dataset). The workers themselves come from the end-to-end plugin, tests/e2e.py."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from contracts.models import Domain, Licence
from contracts.services.catalogue_seed import catalogue_seed
from jobtemplates.models import JobTemplate
from jobtemplates.services.templates import template_import
from workspaces.models import Dataset

REPO = Path(__file__).resolve().parents[2]
BUILTIN = REPO / "templates" / "builtin"


def import_builtin(name: str, admin_user, **changes) -> JobTemplate:
    body = json.loads((BUILTIN / f"{name}.json").read_text())
    body.update(changes)
    return template_import(data=copy.deepcopy(body), creator=admin_user).template


@pytest.fixture
def stage(transactional_db, admin_user):
    """Committed data a worker can see: the catalogue, the built-in templates and a public dataset."""
    catalogue_seed()
    templates = {
        name: import_builtin(name, admin_user) for name in ("noop", "fail", "stubborn", "sleep_train", "sleep_predict")
    }
    dataset = Dataset.objects.create(
        name="digits",
        domain=Domain.objects.get(name="ic"),
        licence=Licence.objects.get(name="Apache 2.0"),
        is_public=True,
        creator=admin_user,
    )
    return {"templates": templates, "dataset": dataset, "admin": admin_user}


def dataset_input(dataset) -> dict:
    return {"value": dataset.pk, "type": "PK<Dataset<Domain<'Image Classification'>>>"}
