"""Datasets as UFDL has them, step 3 of 3: the project column replaces the group column, and a dataset's
name and version are unique within its project (within its creator's personal datasets without one)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("workspaces", "0003_groups_to_projects"),
    ]

    operations = [
        migrations.RemoveConstraint(model_name="dataset", name="dataset_unique_active_name_version"),
        migrations.RemoveField(model_name="dataset", name="project"),
        migrations.RenameField(model_name="dataset", old_name="team_project", new_name="project"),
        migrations.AlterField(
            model_name="dataset",
            name="project",
            field=models.ForeignKey(
                blank=True,
                help_text="the members of its team can see it; none: a personal dataset of its creator",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="datasets",
                to="workspaces.project",
            ),
        ),
        migrations.AddConstraint(
            model_name="dataset",
            constraint=models.UniqueConstraint(
                condition=models.Q(("deletion_time__isnull", True), ("project__isnull", False)),
                fields=("project", "name", "version"),
                name="dataset_unique_active_in_project",
            ),
        ),
        migrations.AddConstraint(
            model_name="dataset",
            constraint=models.UniqueConstraint(
                condition=models.Q(("deletion_time__isnull", True), ("project__isnull", True)),
                fields=("creator", "name", "version"),
                name="dataset_unique_active_personal",
            ),
        ),
        migrations.AddIndex(
            model_name="dataset",
            index=models.Index(fields=["name", "version"], name="dataset_name_version"),
        ),
    ]
