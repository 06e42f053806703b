"""Image-segmentation annotations, as UFDL has them: a dataset's ordered labels, and per file and label one
layer, a mask image.

A mask's bytes are stored once per content (by SHA-256) and shared by every layer with that content, so
copying or merging a dataset shares its masks instead of copying their bytes; a mask no layer uses any
more is deleted with its bytes (``workspaces.services.datasets.segmentation``).
"""

from __future__ import annotations

from django.db import models

LABEL_MAX_LENGTH = 200


def segmentation_mask_path(instance: SegmentationMask, filename: str) -> str:
    """Storage name of a mask: named by its content, outside every dataset's folder (masks are shared)."""
    return f"segmentation-masks/{filename}"


class SegmentationLabel(models.Model):
    """A label of an image-segmentation dataset, at its place in the dataset's canonical order."""

    dataset = models.ForeignKey("workspaces.Dataset", on_delete=models.CASCADE, related_name="segmentation_labels")
    text = models.CharField(max_length=LABEL_MAX_LENGTH)
    position = models.PositiveIntegerField(help_text="place in the dataset's label order, from 0")

    class Meta:
        ordering = ["position", "pk"]
        constraints = [models.UniqueConstraint(fields=["dataset", "text"], name="segmentationlabel_unique_text")]

    def __str__(self) -> str:
        return self.text


class SegmentationMask(models.Model):
    """The bytes of a segmentation mask, stored once per content and shared by the layers that have it."""

    handle = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the content, hex")
    file = models.FileField(upload_to=segmentation_mask_path, max_length=300)
    size = models.BigIntegerField(default=0, help_text="bytes")
    creation_time = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.handle


class SegmentationLayer(models.Model):
    """The mask of one label on one file of an image-segmentation dataset."""

    file = models.ForeignKey("workspaces.DatasetFile", on_delete=models.CASCADE, related_name="segmentation_layers")
    label = models.ForeignKey(SegmentationLabel, on_delete=models.CASCADE, related_name="layers")
    # PROTECT: a mask goes only when no layer has it (the clean-up deletes it, then its bytes).
    mask = models.ForeignKey(SegmentationMask, on_delete=models.PROTECT, related_name="layers")

    class Meta:
        ordering = ["pk"]
        constraints = [models.UniqueConstraint(fields=["file", "label"], name="segmentationlayer_unique_label")]

    def __str__(self) -> str:
        return f"{self.file.filename}: {self.label.text}"
