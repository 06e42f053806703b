"""Datasets: named, versioned collections of files, with visibility by owner, project and publicity."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from config.softdelete import SoftDeleteModel


def dataset_file_path(instance: DatasetFile, filename: str) -> str:
    """Storage name of a dataset file: one folder per dataset, the file's relative name below it."""
    return f"datasets/{instance.dataset_id}/{filename}"


class Dataset(SoftDeleteModel):
    """A dataset: visible to everyone when public, else to its creator, its project's members and admins."""

    name = models.CharField(max_length=200)
    version = models.PositiveIntegerField(default=1)
    description = models.TextField(blank=True)
    domain = models.ForeignKey("contracts.Domain", on_delete=models.PROTECT, related_name="datasets")
    licence = models.ForeignKey("contracts.Licence", on_delete=models.PROTECT, related_name="datasets")
    project = models.ForeignKey(
        "auth.Group",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="datasets",
        help_text="members of this group can see the dataset",
    )
    is_public = models.BooleanField(default=False)
    creator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="datasets"
    )
    creation_time = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["name", "version"],
                condition=Q(deletion_time__isnull=True),
                name="dataset_unique_active_name_version",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class DatasetFile(models.Model):
    """One file of a dataset, by its relative name (may contain ``/`` for sub-folders)."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="files")
    filename = models.CharField(max_length=500, help_text="relative name; '/' separates sub-folders")
    file = models.FileField(upload_to=dataset_file_path, max_length=700)
    size = models.BigIntegerField(default=0, help_text="bytes")
    creation_time = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["filename"]
        constraints = [models.UniqueConstraint(fields=["dataset", "filename"], name="datasetfile_unique_name")]

    def __str__(self) -> str:
        return f"{self.dataset}: {self.filename}"
