"""Reads of the catalogue: querysets with their joins declared, so lists never run N+1."""

from __future__ import annotations

from django.db.models import QuerySet

from contracts.models import (
    CUDAVersion,
    DockerImage,
    Domain,
    Framework,
    Hardware,
    Licence,
    PretrainedModel,
)


def domain_list() -> QuerySet[Domain]:
    return Domain.objects.order_by("pk")


def licence_list() -> QuerySet[Licence]:
    return Licence.objects.order_by("pk")


def framework_list() -> QuerySet[Framework]:
    return Framework.objects.order_by("pk")


def hardware_list() -> QuerySet[Hardware]:
    return Hardware.objects.order_by("pk")


def cuda_version_list() -> QuerySet[CUDAVersion]:
    return CUDAVersion.objects.order_by("pk")


def docker_image_list() -> QuerySet[DockerImage]:
    """Docker images with everything their representation shows (one query plus one for the tasks)."""
    return (
        DockerImage.objects.select_related("cuda_version", "framework", "domain", "min_hardware_generation", "licence")
        .prefetch_related("tasks")
        .order_by("pk")
    )


def pretrained_model_list() -> QuerySet[PretrainedModel]:
    return PretrainedModel.objects.select_related("framework", "domain", "licence").order_by("pk")
