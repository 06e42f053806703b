"""The catalogue: rows that server-resident types (``Domain<…>``, ``Framework<…>``, …) point at."""

from __future__ import annotations

from django.core.validators import RegexValidator
from django.db import models

LICENCE_DOMAINS = ("data", "content", "software")
LICENCE_PERMISSIONS = ("commercial-use", "modifications", "distribution", "private-use", "patent-use")
LICENCE_LIMITATIONS = ("liability", "warranty", "trademark-use", "patent-use")
LICENCE_CONDITIONS = (
    "include-copyright",
    "document-changes",
    "disclose-source",
    "network-use-disclose",
    "same-license",
    "same-license-file",
    "same-license-library",
)


class Domain(models.Model):
    """A data domain: a 2-letter name (``ic``) and its description (``Image Classification``)."""

    name = models.CharField(
        max_length=2,
        unique=True,
        validators=[RegexValidator(r"^[a-z]{2}$", "A domain name is two lower-case letters.")],
        help_text="two lower-case letters, e.g. ic",
    )
    description = models.CharField(max_length=64, unique=True, help_text="e.g. Image Classification")

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.description


class Licence(models.Model):
    """A licence under which datasets, templates and models are published."""

    name = models.CharField(max_length=100, unique=True)
    url = models.URLField(blank=True)
    domains = models.JSONField(default=list, blank=True, help_text=f"any of {', '.join(LICENCE_DOMAINS)}")
    permissions = models.JSONField(default=list, blank=True, help_text=f"any of {', '.join(LICENCE_PERMISSIONS)}")
    limitations = models.JSONField(default=list, blank=True, help_text=f"any of {', '.join(LICENCE_LIMITATIONS)}")
    conditions = models.JSONField(default=list, blank=True, help_text=f"any of {', '.join(LICENCE_CONDITIONS)}")

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return self.name


class Framework(models.Model):
    """A machine-learning framework at a version (``scikit-learn`` ``1``)."""

    name = models.CharField(max_length=64)
    version = models.CharField(max_length=32)

    class Meta:
        ordering = ["pk"]
        constraints = [models.UniqueConstraint(fields=["name", "version"], name="framework_unique_name_version")]

    def __str__(self) -> str:
        return f"{self.name} {self.version}"


class Hardware(models.Model):
    """A GPU generation and the compute capabilities it spans."""

    generation = models.CharField(max_length=32, unique=True)
    min_compute_capability = models.FloatField()
    max_compute_capability = models.FloatField()

    class Meta:
        ordering = ["min_compute_capability", "pk"]
        verbose_name_plural = "hardware"

    def __str__(self) -> str:
        return self.generation


class CUDAVersion(models.Model):
    """A CUDA version and the minimum driver it needs."""

    version = models.CharField(max_length=16, unique=True)
    full_version = models.CharField(max_length=16, unique=True)
    min_driver_version = models.CharField(max_length=16)

    class Meta:
        ordering = ["pk"]
        verbose_name = "CUDA version"
        verbose_name_plural = "CUDA versions"

    def __str__(self) -> str:
        return self.full_version


class DockerImage(models.Model):
    """A docker image that runs a framework; its registry password is write-only (never serialised)."""

    name = models.CharField(max_length=200)
    version = models.CharField(max_length=64)
    url = models.CharField(max_length=300)
    registry_url = models.CharField(max_length=200)
    # null (not "") means "no credentials", as UFDL's schema has it (string or null).
    registry_username = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001
    registry_password = models.CharField(  # noqa: DJ001
        max_length=200, null=True, blank=True, help_text="write-only: never shown by the API or the admin"
    )
    # Required, as in UFDL (its image schema requires the CUDA object): CPU-only images name CUDA "0.0".
    cuda_version = models.ForeignKey(CUDAVersion, on_delete=models.PROTECT)
    framework = models.ForeignKey(Framework, on_delete=models.PROTECT, related_name="docker_images")
    domain = models.ForeignKey(Domain, on_delete=models.PROTECT, related_name="docker_images")
    tasks = models.ManyToManyField(
        "contracts.JobContract", blank=True, related_name="docker_images", help_text="the contracts it can run"
    )
    min_hardware_generation = models.ForeignKey(Hardware, on_delete=models.PROTECT, null=True, blank=True)
    cpu = models.BooleanField(default=False)
    licence = models.ForeignKey(Licence, on_delete=models.PROTECT, related_name="docker_images")

    class Meta:
        ordering = ["pk"]
        constraints = [models.UniqueConstraint(fields=["name", "version"], name="dockerimage_unique_name_version")]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class PretrainedModel(models.Model):
    """A downloadable pretrained model for a framework (the same name may exist for several frameworks)."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    url = models.URLField(max_length=500)
    source = models.URLField(max_length=500, blank=True)
    framework = models.ForeignKey(Framework, on_delete=models.PROTECT, related_name="pretrained_models")
    domain = models.ForeignKey(Domain, on_delete=models.PROTECT, related_name="pretrained_models")
    licence = models.ForeignKey(Licence, on_delete=models.PROTECT, related_name="pretrained_models")
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(fields=["name", "framework"], name="pretrainedmodel_unique_name_framework")
        ]

    def __str__(self) -> str:
        return self.name
