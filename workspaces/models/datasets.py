"""Datasets: named, versioned collections of files in a project (or personal to their creator), in one of
the catalogue's domains (none for a core dataset made on ``/v1/datasets``)."""

from __future__ import annotations

from typing import ClassVar

from django.conf import settings
from django.db import models
from django.db.models import Q

from config.softdelete import SoftDeleteModel, SoftDeleteQuerySet

NO_PREVIOUS_VERSION = -1  # UFDL's value of ``previous_version`` for a dataset that is not a copy


def dataset_file_path(instance: DatasetFile, filename: str) -> str:
    """Storage name of a dataset file: one folder per dataset, the file's relative name below it."""
    return f"datasets/{instance.dataset_id}/{filename}"


class Dataset(SoftDeleteModel):
    """A dataset: visible to everyone when public, else to the members of its project's team (or, without a
    project, to its creator) and to admins. ``(name, version)`` is unique among the project's active
    datasets (the creator's, for personal ones)."""

    name = models.CharField(max_length=200)
    version = models.PositiveIntegerField(default=1)
    previous_version = models.IntegerField(
        default=NO_PREVIOUS_VERSION, help_text="the version this one was copied from (-1: not a copy)"
    )
    description = models.TextField(blank=True)
    domain = models.ForeignKey(
        "contracts.Domain",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="datasets",
        help_text="set by the route that created it; none for a core dataset",
    )
    licence = models.ForeignKey("contracts.Licence", on_delete=models.PROTECT, related_name="datasets")
    project = models.ForeignKey(
        "workspaces.Project",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="datasets",
        help_text="the members of its team can see it; none: a personal dataset of its creator",
    )
    is_public = models.BooleanField(default=False)
    tags = models.TextField(blank=True, help_text="free text, as UFDL has it")
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="datasets"
    )
    creation_time = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "name", "version"],
                condition=Q(deletion_time__isnull=True, project__isnull=False),
                name="dataset_unique_active_in_project",
            ),
            models.UniqueConstraint(
                fields=["creator", "name", "version"],
                condition=Q(deletion_time__isnull=True, project__isnull=True),
                name="dataset_unique_active_personal",
            ),
        ]
        indexes = [models.Index(fields=["name", "version"], name="dataset_name_version")]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class DatasetFile(models.Model):
    """One file of a dataset, by its relative name (may contain ``/`` for sub-folders), with its content
    handle (the SHA-256 of its bytes) and UFDL's free-text metadata."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="files")
    filename = models.CharField(max_length=500, help_text="relative name; '/' separates sub-folders")
    file = models.FileField(upload_to=dataset_file_path, max_length=700)
    size = models.BigIntegerField(default=0, help_text="bytes")
    handle = models.CharField(max_length=64, blank=True, help_text="SHA-256 of the content, hex")
    metadata = models.TextField(blank=True)
    creation_time = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["filename"]
        constraints = [models.UniqueConstraint(fields=["dataset", "filename"], name="datasetfile_unique_name")]

    def __str__(self) -> str:
        return f"{self.dataset}: {self.filename}"


# --- one proxy per domain: the admin lists each domain's datasets on a page of its own -------------------


class _DomainDatasetManager(models.Manager.from_queryset(SoftDeleteQuerySet)):  # type: ignore[misc]
    """The datasets of one domain (by its 2-letter name)."""

    def __init__(self, domain_name: str) -> None:
        super().__init__()
        self.domain_name = domain_name

    def deconstruct(self):  # a manager with an argument: migrations need to know how to rebuild it
        return False, f"{__name__}._DomainDatasetManager", None, (self.domain_name,), {}

    def get_queryset(self):
        return super().get_queryset().filter(domain__name=self.domain_name)


class ImageClassificationDataset(Dataset):
    """The image-classification datasets (``/v1/classify/datasets``)."""

    domain_name = "ic"
    objects: ClassVar[_DomainDatasetManager] = _DomainDatasetManager("ic")

    class Meta:
        proxy = True
        verbose_name = "image-classification dataset"


class ObjectDetectionDataset(Dataset):
    """The object-detection datasets (``/v1/objdet/datasets``)."""

    domain_name = "od"
    objects: ClassVar[_DomainDatasetManager] = _DomainDatasetManager("od")

    class Meta:
        proxy = True
        verbose_name = "object-detection dataset"


class ImageSegmentationDataset(Dataset):
    """The image-segmentation datasets (``/v1/segments/datasets``)."""

    domain_name = "is"
    objects: ClassVar[_DomainDatasetManager] = _DomainDatasetManager("is")

    class Meta:
        proxy = True
        verbose_name = "image-segmentation dataset"


class SpectrumClassificationDataset(Dataset):
    """The spectrum-classification datasets (``/v1/spectra/datasets``)."""

    domain_name = "sc"
    objects: ClassVar[_DomainDatasetManager] = _DomainDatasetManager("sc")

    class Meta:
        proxy = True
        verbose_name = "spectrum-classification dataset"


class SpeechDataset(Dataset):
    """The speech datasets (``/v1/speech/datasets``)."""

    domain_name = "sp"
    objects: ClassVar[_DomainDatasetManager] = _DomainDatasetManager("sp")

    class Meta:
        proxy = True
        verbose_name = "speech dataset"


DOMAIN_DATASET_PROXIES = (
    ImageClassificationDataset,
    ObjectDetectionDataset,
    ImageSegmentationDataset,
    SpectrumClassificationDataset,
    SpeechDataset,
)
