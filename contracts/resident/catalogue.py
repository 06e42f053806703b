"""The bindings of the catalogue's types (``Domain`` … ``CUDAVersion``); ``Dataset`` is bound by the
workspaces app, which holds datasets.

A row value writes exactly the ``row_fields`` its type class declares (``contracts.types.catalogue``),
in UFDL's shapes, so it is a valid value of its own type: related rows as their objects (a docker
image's ``framework``, ``cuda_version``) or as the one field UFDL writes (every ``domain`` is the
domain's description, what ``Domain<'…'>`` fixes). A docker image's value is its ``/v1/docker``
representation; a pretrained model's differs from its REST one in ``domain`` (the REST representation
writes the 2-letter name). Registry
credentials are never part of a value: a docker image's ``registry_password`` is left out.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Model

from contracts.resident.bindings import FieldName, NameAndVersion, ResidentBinding, RowValue, register_resident

_DOMAIN_AND_FRAMEWORK_LOOKUPS = {
    "domain.description": "domain__description",
    "framework.name": "framework__name",
    "framework.version": "framework__version",
}


def domain_value(domain) -> dict[str, Any]:
    return {"pk": domain.pk, "name": domain.name, "description": domain.description}


def framework_value(framework) -> dict[str, Any]:
    return {"pk": framework.pk, "name": framework.name, "version": framework.version}


def hardware_value(hardware) -> dict[str, Any]:
    return {
        "pk": hardware.pk,
        "generation": hardware.generation,
        "min_compute_capability": hardware.min_compute_capability,
        "max_compute_capability": hardware.max_compute_capability,
    }


def cuda_version_value(cuda) -> dict[str, Any]:
    return {
        "pk": cuda.pk,
        "version": cuda.version,
        "full_version": cuda.full_version,
        "min_driver_version": cuda.min_driver_version,
    }


def _nullable(value: RowValue, row: Model | None) -> dict[str, Any] | None:
    """A nullable related row's value (None for no row)."""
    return None if row is None else value(row)


def docker_image_value(image) -> dict[str, Any]:
    # registry_password is deliberately absent (write-only secret). A missing CUDA version is written
    # as null, which UFDL's schema does not allow (seeded images always name one; CPU images "0.0").
    return {
        "pk": image.pk,
        "name": image.name,
        "version": image.version,
        "url": image.url,
        "registry_url": image.registry_url,
        "registry_username": image.registry_username,
        "cuda_version": _nullable(cuda_version_value, image.cuda_version),
        "framework": framework_value(image.framework),
        "domain": image.domain.description,
        "tasks": [task.name for task in image.tasks.all()],
        "min_hardware_generation": _nullable(hardware_value, image.min_hardware_generation),
        "cpu": image.cpu,
        "licence": image.licence.name,
    }


def pretrained_model_value(model) -> dict[str, Any]:
    return {
        "pk": model.pk,
        "name": model.name,
        "description": model.description,
        "url": model.url,
        "source": model.source,
        "framework": framework_value(model.framework),
        "domain": model.domain.description,
        "licence": model.licence.name,
        "metadata": model.metadata,
    }


def register_catalogue_bindings() -> None:
    """Bind the catalogue's types (idempotent)."""
    for binding in (
        ResidentBinding(
            "Domain",
            "contracts.Domain",
            resource="domains",
            noun="domain",
            row_value=domain_value,
            filter_lookups={"description": "description"},
            name_rule=FieldName("description"),
        ),
        ResidentBinding(
            "Framework",
            "contracts.Framework",
            resource="frameworks",
            noun="framework",
            row_value=framework_value,
            filter_lookups={"name": "name", "version": "version"},
        ),
        ResidentBinding(
            "Hardware",
            "contracts.Hardware",
            resource="hardware",
            noun="hardware generation",
            row_value=hardware_value,
            name_rule=FieldName("generation"),
        ),
        ResidentBinding(
            "CUDAVersion",
            "contracts.CUDAVersion",
            resource="cuda",
            noun="CUDA version",
            row_value=cuda_version_value,
            name_rule=FieldName("full_version"),
        ),
        ResidentBinding(
            "DockerImage",
            "contracts.DockerImage",
            resource="docker",
            noun="docker image",
            row_value=docker_image_value,
            filter_lookups=_DOMAIN_AND_FRAMEWORK_LOOKUPS,
            name_rule=NameAndVersion(),
            related=("cuda_version", "framework", "domain", "min_hardware_generation", "licence"),
            prefetch=("tasks",),
        ),
        ResidentBinding(
            "PretrainedModel",
            "contracts.PretrainedModel",
            resource="pretrained-models",
            noun="pretrained model",
            row_value=pretrained_model_value,
            filter_lookups=_DOMAIN_AND_FRAMEWORK_LOOKUPS,
            name_rule=FieldName("name"),
            related=("framework", "domain", "licence"),
        ),
    ):
        register_resident(binding, replace=True)
