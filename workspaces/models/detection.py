"""Object-detection annotations, as UFDL's ``ufdl.json.object_detection`` has them: a dataset's label and
prefix vocabularies, each file's type (format, dimensions and, for a video, its length) and the
annotated objects of each file (a bounding box, an optional polygon, a label and a prefix; a video's
also the time of their frame).

An annotation's label and prefix are rows of its dataset's vocabularies (foreign keys), so an annotation
never names a label its dataset does not have, and removing a label removes the annotations using it.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

TERM_MAX_LENGTH = 200
FORMAT_MAX_LENGTH = 32
DEFAULT_PREFIX = "Object"  # UFDL's default prefix of an annotation


class DetectionLabel(models.Model):
    """A label of an object-detection dataset: added explicitly, or by an annotation that uses it."""

    dataset = models.ForeignKey("workspaces.Dataset", on_delete=models.CASCADE, related_name="detection_labels")
    text = models.CharField(max_length=TERM_MAX_LENGTH)

    class Meta:
        ordering = ["text"]
        constraints = [models.UniqueConstraint(fields=["dataset", "text"], name="detectionlabel_unique_text")]

    def __str__(self) -> str:
        return self.text


class DetectionPrefix(models.Model):
    """A prefix of an object-detection dataset (UFDL's default is ``Object``): added explicitly, or by an
    annotation that uses it."""

    dataset = models.ForeignKey("workspaces.Dataset", on_delete=models.CASCADE, related_name="detection_prefixes")
    text = models.CharField(max_length=TERM_MAX_LENGTH)

    class Meta:
        ordering = ["text"]
        verbose_name_plural = "detection prefixes"
        constraints = [models.UniqueConstraint(fields=["dataset", "text"], name="detectionprefix_unique_text")]

    def __str__(self) -> str:
        return self.text


class DetectionFileType(models.Model):
    """UFDL's ``FileType`` of a file of an object-detection dataset: its format, its dimensions and, for a
    video, its length in seconds (none: an image). A file without one is an image of unknown type."""

    file = models.OneToOneField("workspaces.DatasetFile", on_delete=models.CASCADE, related_name="detection_type")
    # Null, not blank: UFDL tells an absent format from an empty one.
    format = models.CharField(max_length=FORMAT_MAX_LENGTH, null=True, blank=True)  # noqa: DJ001
    width = models.PositiveIntegerField(null=True, blank=True, help_text="pixels")
    height = models.PositiveIntegerField(null=True, blank=True, help_text="pixels")
    length = models.FloatField(null=True, blank=True, help_text="seconds; none: an image")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(width__isnull=True, height__isnull=True) | Q(width__gte=1, height__gte=1),
                name="detectionfiletype_dimensions",
            ),
            models.CheckConstraint(
                condition=Q(length__isnull=True) | Q(length__gte=0), name="detectionfiletype_length"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.file.filename}: {self.format or '?'}"

    @property
    def is_video(self) -> bool:
        return self.length is not None


class DetectionAnnotation(models.Model):
    """One annotated object of a file: its bounding box (and optional polygon, ``[[x, y], …]``), label and
    prefix; a video's annotations also carry the time, in seconds, of their frame (none: an image's)."""

    file = models.ForeignKey("workspaces.DatasetFile", on_delete=models.CASCADE, related_name="detections")
    x = models.IntegerField()
    y = models.IntegerField()
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    polygon = models.JSONField(null=True, blank=True, help_text="[[x, y], …], at least three points")
    label = models.ForeignKey(DetectionLabel, on_delete=models.CASCADE, related_name="annotations")
    prefix = models.ForeignKey(DetectionPrefix, on_delete=models.CASCADE, related_name="annotations")
    time = models.FloatField(null=True, blank=True, help_text="seconds into a video; none: an image's")

    class Meta:
        ordering = ["pk"]
        constraints = [
            models.CheckConstraint(condition=Q(time__isnull=True) | Q(time__gte=0), name="detectionannotation_time")
        ]

    def __str__(self) -> str:
        return f"{self.label.text} at ({self.x}, {self.y}) {self.width}x{self.height}"
