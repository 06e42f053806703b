"""Templates and jobs in UFDL projects, step 1 of 3: the new project columns beside the group column."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("jobtemplates", "0002_jobreference"),
        ("workspaces", "0003_groups_to_projects"),
    ]

    operations = [
        migrations.AddField(
            model_name="jobtemplate",
            name="team_project",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="workspaces.project",
            ),
        ),
        migrations.AddField(
            model_name="job",
            name="project",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="jobs",
                to="workspaces.project",
            ),
        ),
    ]
