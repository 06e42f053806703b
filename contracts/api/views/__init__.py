"""Viewsets of the contracts app: the catalogue resources."""

from contracts.api.views.catalogue import (
    CUDAVersionViewSet,
    DockerImageViewSet,
    DomainViewSet,
    FrameworkViewSet,
    HardwareViewSet,
    LicenceViewSet,
    PretrainedModelViewSet,
)

__all__ = [
    "CUDAVersionViewSet",
    "DockerImageViewSet",
    "DomainViewSet",
    "FrameworkViewSet",
    "HardwareViewSet",
    "LicenceViewSet",
    "PretrainedModelViewSet",
]
