"""Reads of the catalogue and datasets: querysets with their joins declared, so lists never run N+1."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Prefetch, Q, QuerySet

from config.errors import NotFound, Problem
from contracts.models import (
    CUDAVersion,
    Dataset,
    DatasetFile,
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


def dataset_visibility_filter(user: AbstractBaseUser | AnonymousUser) -> Q | None:
    """The condition a dataset meets to be visible to ``user``; ``None`` means every dataset (admins)."""
    if getattr(user, "is_staff", False):
        return None
    if user is None or not user.is_authenticated:
        return Q(pk__in=[])
    return Q(is_public=True) | Q(creator_id=user.pk) | Q(project__in=user.groups.all())


def dataset_visible_to(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Dataset]:
    """Datasets ``user`` may see (public, own, of a project they are a member of; admins all),
    soft-deleted ones included, with the joins their representation needs."""
    datasets = Dataset.objects.select_related("domain", "project").prefetch_related(
        Prefetch("files", queryset=DatasetFile.objects.only("pk", "dataset_id", "filename").order_by("filename"))
    )
    condition = dataset_visibility_filter(user)
    if condition is not None:
        datasets = datasets.filter(condition)
    return datasets.order_by("pk")


def dataset_file_get(*, dataset: Dataset, filename: str) -> DatasetFile:
    """The file ``filename`` of ``dataset``, or a 404."""
    datafile = DatasetFile.objects.filter(dataset=dataset, filename=filename).first()
    if datafile is None:
        raise NotFound(
            f"{dataset} has no file {filename!r}.",
            problems=[Problem(path="filename", code="not_found", message=f"no file {filename!r}")],
        )
    return datafile
