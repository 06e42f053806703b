"""Annotations of dataset files, per domain: image (and spectrum) classification categories, speech
transcriptions."""

from __future__ import annotations

from django.db import models

CATEGORY_MAX_LENGTH = 200


class Category(models.Model):
    """One label of a file of an image- or spectrum-classification dataset (a file may have several)."""

    file = models.ForeignKey("workspaces.DatasetFile", on_delete=models.CASCADE, related_name="categories")
    label = models.CharField(max_length=CATEGORY_MAX_LENGTH)

    class Meta:
        ordering = ["pk"]
        verbose_name_plural = "categories"
        constraints = [models.UniqueConstraint(fields=["file", "label"], name="category_unique_label")]

    def __str__(self) -> str:
        return f"{self.file.filename}: {self.label}"


class Transcription(models.Model):
    """The transcription of a file of a speech dataset."""

    file = models.OneToOneField("workspaces.DatasetFile", on_delete=models.CASCADE, related_name="transcription")
    text = models.TextField(blank=True)

    def __str__(self) -> str:
        return f"{self.file.filename}: {self.text[:50]}"
