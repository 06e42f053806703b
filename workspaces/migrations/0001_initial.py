"""Teams, memberships and projects; datasets and their files adopted from the contracts app (state only:
the tables keep their names until 0002 renames them)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def dataset_file_path(instance, filename):
    """The historical ``upload_to`` (the same layout as ``workspaces.models.datasets.dataset_file_path``)."""
    return f"datasets/{instance.dataset_id}/{filename}"


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("contracts", "0004_datasets_move_to_workspaces"),
    ]

    operations = [
        migrations.CreateModel(
            name="Team",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("deletion_time", models.DateTimeField(blank=True, db_index=True, editable=False, null=True)),
                ("name", models.CharField(max_length=200)),
                ("creation_time", models.DateTimeField(auto_now_add=True)),
                (
                    "creator",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={"ordering": ["pk"]},
        ),
        migrations.CreateModel(
            name="Membership",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("deletion_time", models.DateTimeField(blank=True, db_index=True, editable=False, null=True)),
                (
                    "permissions",
                    models.CharField(
                        choices=[
                            ("R", "R: read"),
                            ("X", "X: read, and run jobs on the team's data from a worker node"),
                            ("W", "W: read, and create and change projects and datasets"),
                            ("A", "A: everything, including the team itself and its memberships"),
                        ],
                        default="R",
                        max_length=1,
                    ),
                ),
                ("creation_time", models.DateTimeField(auto_now_add=True)),
                (
                    "creator",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "team",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="memberships", to="workspaces.team"
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="memberships",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["pk"],
                "indexes": [models.Index(fields=["user", "deletion_time"], name="membership_user_active")],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("deletion_time__isnull", True)),
                        fields=("user", "team"),
                        name="membership_unique_active",
                    )
                ],
            },
        ),
        migrations.AddField(
            model_name="team",
            name="members",
            field=models.ManyToManyField(
                related_name="teams",
                through="workspaces.Membership",
                through_fields=("team", "user"),
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddConstraint(
            model_name="team",
            constraint=models.UniqueConstraint(
                condition=models.Q(("deletion_time__isnull", True)), fields=("name",), name="team_unique_active_name"
            ),
        ),
        migrations.CreateModel(
            name="Project",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("deletion_time", models.DateTimeField(blank=True, db_index=True, editable=False, null=True)),
                ("name", models.CharField(max_length=200)),
                ("creation_time", models.DateTimeField(auto_now_add=True)),
                (
                    "creator",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "team",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="projects", to="workspaces.team"
                    ),
                ),
            ],
            options={
                "ordering": ["pk"],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("deletion_time__isnull", True)),
                        fields=("team", "name"),
                        name="project_unique_active_name",
                    )
                ],
            },
        ),
        # The datasets' tables, as contracts left them.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Dataset",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID"),
                        ),
                        ("deletion_time", models.DateTimeField(blank=True, db_index=True, editable=False, null=True)),
                        ("name", models.CharField(max_length=200)),
                        ("version", models.PositiveIntegerField(default=1)),
                        ("description", models.TextField(blank=True)),
                        ("is_public", models.BooleanField(default=False)),
                        ("creation_time", models.DateTimeField(auto_now_add=True)),
                        (
                            "creator",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="datasets",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "project",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="datasets",
                                to="auth.group",
                            ),
                        ),
                        (
                            "domain",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="datasets",
                                to="contracts.domain",
                            ),
                        ),
                        (
                            "licence",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="datasets",
                                to="contracts.licence",
                            ),
                        ),
                    ],
                    options={
                        "ordering": ["pk"],
                        "db_table": "contracts_dataset",
                        "constraints": [
                            models.UniqueConstraint(
                                condition=models.Q(("deletion_time__isnull", True)),
                                fields=("name", "version"),
                                name="dataset_unique_active_name_version",
                            )
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="DatasetFile",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID"),
                        ),
                        ("filename", models.CharField(max_length=500)),
                        ("file", models.FileField(max_length=700, upload_to=dataset_file_path)),
                        ("size", models.BigIntegerField(default=0)),
                        ("creation_time", models.DateTimeField(auto_now_add=True)),
                        (
                            "dataset",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="files",
                                to="workspaces.dataset",
                            ),
                        ),
                    ],
                    options={
                        "ordering": ["filename"],
                        "db_table": "contracts_datasetfile",
                        "constraints": [
                            models.UniqueConstraint(fields=("dataset", "filename"), name="datasetfile_unique_name")
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
