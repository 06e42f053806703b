"""Catalogue resources: domains, licences, frameworks, hardware, CUDA versions, docker images, pretrained
models. Authenticated users read them; administrators edit them."""

from __future__ import annotations

from contracts import filters, selectors
from contracts.api import serializers
from contracts.api.views.common import CatalogueViewSet


class DomainViewSet(CatalogueViewSet):
    """Data domains: a 2-letter name (``ic``) and a description (``Image Classification``)."""

    serializer_class = serializers.DomainSerializer
    filter_fields = filters.DOMAIN_FILTER_FIELDS
    query_filters = {"name": "name", "description": "description"}

    def get_queryset(self):
        return selectors.domain_list()


class LicenceViewSet(CatalogueViewSet):
    """Licences of datasets, templates and models (also served as ``/v1/licenses``)."""

    serializer_class = serializers.LicenceSerializer
    filter_fields = filters.LICENCE_FILTER_FIELDS
    query_filters = {"name": "name"}

    def get_queryset(self):
        return selectors.licence_list()


class FrameworkViewSet(CatalogueViewSet):
    """Machine-learning frameworks by name and version."""

    serializer_class = serializers.FrameworkSerializer
    filter_fields = filters.FRAMEWORK_FILTER_FIELDS
    query_filters = {"name": "name", "version": "version"}

    def get_queryset(self):
        return selectors.framework_list()


class HardwareViewSet(CatalogueViewSet):
    """GPU generations and the compute capabilities they span."""

    serializer_class = serializers.HardwareSerializer
    filter_fields = filters.HARDWARE_FILTER_FIELDS
    query_filters = {"generation": "generation"}

    def get_queryset(self):
        return selectors.hardware_list()


class CUDAVersionViewSet(CatalogueViewSet):
    """CUDA versions and the minimum driver version each needs."""

    serializer_class = serializers.CUDAVersionSerializer
    filter_fields = filters.CUDA_VERSION_FILTER_FIELDS
    query_filters = {"version": "version", "full_version": "full_version"}

    def get_queryset(self):
        return selectors.cuda_version_list()


class DockerImageViewSet(CatalogueViewSet):
    """Docker images that run a framework for a domain. Registry passwords are accepted on admin writes
    and never shown."""

    serializer_class = serializers.DockerImageSerializer
    write_serializer_class = serializers.DockerImageWriteSerializer
    filter_fields = filters.DOCKER_IMAGE_FILTER_FIELDS
    query_filters = {
        "name": "name",
        "version": "version",
        "domain": "domain.name",
        "framework": "framework.name",
        "framework_version": "framework.version",
        "cpu": "cpu",
        "task": "tasks.name",
    }

    def get_queryset(self):
        return selectors.docker_image_list()


class PretrainedModelViewSet(CatalogueViewSet):
    """Downloadable pretrained models for a framework and domain."""

    serializer_class = serializers.PretrainedModelSerializer
    write_serializer_class = serializers.PretrainedModelWriteSerializer
    filter_fields = filters.PRETRAINED_MODEL_FILTER_FIELDS
    query_filters = {
        "name": "name",
        "domain": "domain.name",
        "framework": "framework.name",
        "framework_version": "framework.version",
        "licence": "licence.name",
    }

    def get_queryset(self):
        return selectors.pretrained_model_list()
