"""The ``Dataset`` type's binding: datasets as values of ``Dataset<…>``, ``PK<Dataset<…>>`` and
``Name<Dataset<…>>`` (named ``"<name> v<version>"``), visible as the datasets resource shows them.
A core dataset (no domain) is no value of any of them: UFDL's dataset types always have a domain."""

from __future__ import annotations

from typing import Any

from contracts.resident import NameAndVersion, ResidentBinding, iso_time, register_resident
from workspaces.selectors import datasets_visible


def datasets_of_a_domain_visible(datasets, user):
    """The datasets ``user`` may see that have a domain."""
    return datasets_visible(datasets.filter(domain__isnull=False), user)


def dataset_value(dataset) -> dict[str, Any]:
    """A dataset as a value of its row type: the REST representation without the file list (a value
    names the dataset; its files are listed by ``/v1/datasets/{pk}``)."""
    return {
        "pk": dataset.pk,
        "name": dataset.name,
        "version": dataset.version,
        "previous_version": dataset.previous_version,
        "description": dataset.description,
        "project": dataset.project_id,
        "licence": dataset.licence_id,
        "is_public": dataset.is_public,
        "domain": dataset.domain.description,
        "tags": dataset.tags,
        "creator": dataset.creator_id,
        "creation_time": iso_time(dataset.creation_time),
        "deletion_time": iso_time(dataset.deletion_time),
    }


def register_dataset_binding() -> None:
    """Bind ``Dataset`` to ``workspaces.Dataset`` (idempotent)."""
    register_resident(
        ResidentBinding(
            "Dataset",
            "workspaces.Dataset",
            resource="datasets",
            noun="dataset",
            row_value=dataset_value,
            filter_lookups={"domain.description": "domain__description"},
            name_rule=NameAndVersion(integer_version=True),
            visible=datasets_of_a_domain_visible,
            related=("domain",),
        ),
        replace=True,
    )
