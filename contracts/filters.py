"""Filter-spec allow-lists of the catalogue resources (http-api.md §2).

Each list holds the serialised fields plus the documented relations (``domain.name``, ``licence.name``,
``framework.version`` …). A wire name whose serialised value is not the related row's pk is an alias:
a docker image's ``domain`` is the domain's description, ``licence`` on docker images and pretrained
models the licence name. Secrets are never filterable (``registry_password``),
and JSON list/object fields (licence ``permissions``, model ``metadata``) are left out: their lookups
differ between PostgreSQL and SQLite.
"""

from __future__ import annotations

from config.api.filterspec import FilterFields
from contracts.models import CUDAVersion, DockerImage, Domain, Framework, Hardware, Licence, PretrainedModel

DOMAIN_FILTER_FIELDS = FilterFields(Domain, ["pk", "name", "description"])

LICENCE_FILTER_FIELDS = FilterFields(Licence, ["pk", "name", "url"])

FRAMEWORK_FILTER_FIELDS = FilterFields(Framework, ["pk", "name", "version"])

HARDWARE_FILTER_FIELDS = FilterFields(
    Hardware, ["pk", "generation", "min_compute_capability", "max_compute_capability"]
)

CUDA_VERSION_FILTER_FIELDS = FilterFields(CUDAVersion, ["pk", "version", "full_version", "min_driver_version"])

DOCKER_IMAGE_FILTER_FIELDS = FilterFields(
    DockerImage,
    [
        "pk",
        "name",
        "version",
        "url",
        "registry_url",
        "registry_username",
        "cpu",
        "cuda_version",
        "cuda_version.pk",
        "cuda_version.version",
        "cuda_version.full_version",
        "cuda_version.min_driver_version",
        "framework",
        "framework.pk",
        "framework.name",
        "framework.version",
        "domain.pk",
        "domain.name",
        "domain.description",
        "tasks.name",
        "min_hardware_generation",
        "min_hardware_generation.pk",
        "min_hardware_generation.generation",
        "min_hardware_generation.min_compute_capability",
        "min_hardware_generation.max_compute_capability",
        "licence.pk",
        "licence.name",
    ],
    # nested objects (cuda_version, framework, min_hardware_generation) filter by pk; these by what is shown
    aliases={"domain": "domain__description", "tasks": "tasks__name", "licence": "licence__name"},
)

PRETRAINED_MODEL_FILTER_FIELDS = FilterFields(
    PretrainedModel,
    [
        "pk",
        "name",
        "description",
        "url",
        "source",
        "framework",
        "framework.pk",
        "framework.name",
        "framework.version",
        "domain.pk",
        "domain.name",
        "domain.description",
        "licence.pk",
        "licence.name",
    ],
    aliases={"domain": "domain__name", "licence": "licence__name"},
)
