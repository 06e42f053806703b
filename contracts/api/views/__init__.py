"""Viewsets of the contracts app: the catalogue resources and datasets."""

from contracts.api.views.catalogue import (
    CUDAVersionViewSet,
    DockerImageViewSet,
    DomainViewSet,
    FrameworkViewSet,
    HardwareViewSet,
    LicenceViewSet,
    PretrainedModelViewSet,
)
from contracts.api.views.datasets import DatasetViewSet

__all__ = [
    "CUDAVersionViewSet",
    "DatasetViewSet",
    "DockerImageViewSet",
    "DomainViewSet",
    "FrameworkViewSet",
    "HardwareViewSet",
    "LicenceViewSet",
    "PretrainedModelViewSet",
]
