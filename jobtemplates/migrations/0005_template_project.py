"""Templates and jobs in UFDL projects, step 3 of 3: the project column replaces the group column."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("jobtemplates", "0004_projects_from_groups"),
    ]

    operations = [
        migrations.RemoveField(model_name="jobtemplate", name="project"),
        migrations.RenameField(model_name="jobtemplate", old_name="team_project", new_name="project"),
        migrations.AlterField(
            model_name="jobtemplate",
            name="project",
            field=models.ForeignKey(
                blank=True,
                help_text="scope 'project': the members of its team can see the template",
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="templates",
                to="workspaces.project",
            ),
        ),
        migrations.AlterField(
            model_name="jobtemplate",
            name="scope",
            field=models.CharField(
                choices=[
                    ("public", "public: every authenticated user"),
                    ("user", "user: the creator and admins"),
                    ("project", "project: members of the project's team and admins"),
                ],
                default="public",
                max_length=8,
            ),
        ),
    ]
