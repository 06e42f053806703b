"""Jobs record the job they were relaunched from; operators may be given cancel-any and abort permissions
(the admin's job page: superusers hold both)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("jobtemplates", "0009_kept_representations_lz4"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="job",
            options={
                "ordering": ["pk"],
                "permissions": [
                    ("cancel_any_job", "Can cancel any job (not only their own)"),
                    ("abort_job", "Can abort a job (back to created, outputs removed, queued again)"),
                ],
            },
        ),
        migrations.AddField(
            model_name="job",
            name="relaunched_from",
            field=models.ForeignKey(
                blank=True,
                help_text="the job this one repeats (a relaunch)",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="relaunches",
                to="jobtemplates.job",
            ),
        ),
    ]
