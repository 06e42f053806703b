"""Object-detection and image-segmentation annotations: label and prefix vocabularies, file types and
annotated objects (``/v1/objdet``); ordered labels, content-addressed masks and their layers
(``/v1/segments``). New tables only: nothing existing changes."""

import django.db.models.deletion
from django.db import migrations, models

import workspaces.models.segmentation


class Migration(migrations.Migration):
    dependencies = [
        ("workspaces", "0004_dataset_project"),
    ]

    operations = [
        migrations.CreateModel(
            name="SegmentationMask",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("handle", models.CharField(help_text="SHA-256 of the content, hex", max_length=64, unique=True)),
                (
                    "file",
                    models.FileField(max_length=300, upload_to=workspaces.models.segmentation.segmentation_mask_path),
                ),
                ("size", models.BigIntegerField(default=0, help_text="bytes")),
                ("creation_time", models.DateTimeField(auto_now_add=True)),
            ],
        ),
        migrations.CreateModel(
            name="DetectionLabel",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("text", models.CharField(max_length=200)),
                (
                    "dataset",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="detection_labels",
                        to="workspaces.dataset",
                    ),
                ),
            ],
            options={
                "ordering": ["text"],
            },
        ),
        migrations.CreateModel(
            name="DetectionPrefix",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("text", models.CharField(max_length=200)),
                (
                    "dataset",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="detection_prefixes",
                        to="workspaces.dataset",
                    ),
                ),
            ],
            options={
                "verbose_name_plural": "detection prefixes",
                "ordering": ["text"],
            },
        ),
        migrations.CreateModel(
            name="DetectionAnnotation",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("x", models.IntegerField()),
                ("y", models.IntegerField()),
                ("width", models.PositiveIntegerField()),
                ("height", models.PositiveIntegerField()),
                ("polygon", models.JSONField(blank=True, help_text="[[x, y], …], at least three points", null=True)),
                ("time", models.FloatField(blank=True, help_text="seconds into a video; none: an image's", null=True)),
                (
                    "file",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="detections",
                        to="workspaces.datasetfile",
                    ),
                ),
                (
                    "label",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="annotations",
                        to="workspaces.detectionlabel",
                    ),
                ),
                (
                    "prefix",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="annotations",
                        to="workspaces.detectionprefix",
                    ),
                ),
            ],
            options={
                "ordering": ["pk"],
            },
        ),
        migrations.CreateModel(
            name="SegmentationLabel",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("text", models.CharField(max_length=200)),
                ("position", models.PositiveIntegerField(help_text="place in the dataset's label order, from 0")),
                (
                    "dataset",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="segmentation_labels",
                        to="workspaces.dataset",
                    ),
                ),
            ],
            options={
                "ordering": ["position", "pk"],
            },
        ),
        migrations.CreateModel(
            name="SegmentationLayer",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "file",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="segmentation_layers",
                        to="workspaces.datasetfile",
                    ),
                ),
                (
                    "label",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="layers",
                        to="workspaces.segmentationlabel",
                    ),
                ),
                (
                    "mask",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="layers",
                        to="workspaces.segmentationmask",
                    ),
                ),
            ],
            options={
                "ordering": ["pk"],
            },
        ),
        migrations.CreateModel(
            name="DetectionFileType",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("format", models.CharField(blank=True, max_length=32, null=True)),
                ("width", models.PositiveIntegerField(blank=True, help_text="pixels", null=True)),
                ("height", models.PositiveIntegerField(blank=True, help_text="pixels", null=True)),
                ("length", models.FloatField(blank=True, help_text="seconds; none: an image", null=True)),
                (
                    "file",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="detection_type",
                        to="workspaces.datasetfile",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("height__isnull", True), ("width__isnull", True)),
                            models.Q(("height__gte", 1), ("width__gte", 1)),
                            _connector="OR",
                        ),
                        name="detectionfiletype_dimensions",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("length__isnull", True), ("length__gte", 0), _connector="OR"),
                        name="detectionfiletype_length",
                    ),
                ],
            },
        ),
        migrations.AddConstraint(
            model_name="detectionlabel",
            constraint=models.UniqueConstraint(fields=("dataset", "text"), name="detectionlabel_unique_text"),
        ),
        migrations.AddConstraint(
            model_name="detectionprefix",
            constraint=models.UniqueConstraint(fields=("dataset", "text"), name="detectionprefix_unique_text"),
        ),
        migrations.AddConstraint(
            model_name="detectionannotation",
            constraint=models.CheckConstraint(
                condition=models.Q(("time__isnull", True), ("time__gte", 0), _connector="OR"),
                name="detectionannotation_time",
            ),
        ),
        migrations.AddConstraint(
            model_name="segmentationlabel",
            constraint=models.UniqueConstraint(fields=("dataset", "text"), name="segmentationlabel_unique_text"),
        ),
        migrations.AddConstraint(
            model_name="segmentationlayer",
            constraint=models.UniqueConstraint(fields=("file", "label"), name="segmentationlayer_unique_label"),
        ),
    ]
