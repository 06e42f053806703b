"""Datasets as UFDL has them, step 1 of 3: the tables renamed into this app, UFDL's ``previous_version`` and
``tags``, an optional domain (core datasets have none), a content handle and metadata per file, the new
project column beside the old one, and the annotation tables."""

import django.db.models.deletion
from django.db import migrations, models

import workspaces.models.datasets


class Migration(migrations.Migration):
    dependencies = [
        ("workspaces", "0001_initial"),
    ]

    operations = [
        migrations.AlterModelTable(name="dataset", table=None),
        migrations.AlterModelTable(name="datasetfile", table=None),
        migrations.AddField(
            model_name="dataset",
            name="previous_version",
            field=models.IntegerField(default=-1, help_text="the version this one was copied from (-1: not a copy)"),
        ),
        migrations.AddField(
            model_name="dataset",
            name="tags",
            field=models.TextField(blank=True, help_text="free text, as UFDL has it"),
        ),
        migrations.AlterField(
            model_name="dataset",
            name="domain",
            field=models.ForeignKey(
                blank=True,
                help_text="set by the route that created it; none for a core dataset",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="datasets",
                to="contracts.domain",
            ),
        ),
        migrations.AddField(
            model_name="dataset",
            name="team_project",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="workspaces.project",
            ),
        ),
        migrations.AlterField(
            model_name="datasetfile",
            name="filename",
            field=models.CharField(help_text="relative name; '/' separates sub-folders", max_length=500),
        ),
        migrations.AlterField(
            model_name="datasetfile",
            name="size",
            field=models.BigIntegerField(default=0, help_text="bytes"),
        ),
        migrations.AlterField(
            model_name="datasetfile",
            name="file",
            field=models.FileField(max_length=700, upload_to=workspaces.models.datasets.dataset_file_path),
        ),
        migrations.AddField(
            model_name="datasetfile",
            name="handle",
            field=models.CharField(blank=True, help_text="SHA-256 of the content, hex", max_length=64),
        ),
        migrations.AddField(
            model_name="datasetfile",
            name="metadata",
            field=models.TextField(blank=True),
        ),
        migrations.CreateModel(
            name="Category",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("label", models.CharField(max_length=200)),
                (
                    "file",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="categories",
                        to="workspaces.datasetfile",
                    ),
                ),
            ],
            options={
                "ordering": ["pk"],
                "verbose_name_plural": "categories",
                "constraints": [models.UniqueConstraint(fields=("file", "label"), name="category_unique_label")],
            },
        ),
        migrations.CreateModel(
            name="Transcription",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("text", models.TextField(blank=True)),
                (
                    "file",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="transcription",
                        to="workspaces.datasetfile",
                    ),
                ),
            ],
        ),
    ]
