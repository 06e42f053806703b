"""Runners and routing: a job's runner and queue, a template's queue and GPU need, and ``Job.node``
becomes a reference to a registered node (it was a free-text column no code ever wrote, always null).

Existing jobs get the runner their template's executor module has under today's settings, so a
queued job of a UFDL template waits for a node instead of being sent to Celery again.
"""

import django.db.models.deletion
from django.db import migrations, models


def set_runners(apps, schema_editor):
    from runners.routing import runner_for

    Job = apps.get_model("jobtemplates", "Job")
    JobTemplate = apps.get_model("jobtemplates", "JobTemplate")
    Job.objects.filter(template__kind="meta").update(runner="meta", queue="")
    for template in JobTemplate.objects.filter(kind="workable").only("pk", "executor_class"):
        runner = runner_for(template.executor_class)
        Job.objects.filter(template_id=template.pk).update(runner=runner, queue="")


class Migration(migrations.Migration):

    dependencies = [
        ('jobtemplates', '0005_template_project'),
        ('runners', '0001_initial'),
    ]

    operations = [
        migrations.AddField(
            model_name='job',
            name='queue',
            field=models.CharField(blank=True, help_text='the Celery queue its task goes to', max_length=100),
        ),
        migrations.AddField(
            model_name='job',
            name='runner',
            field=models.CharField(db_index=True, default='celery', help_text='celery, node or none', max_length=8),
        ),
        migrations.AddField(
            model_name='jobtemplate',
            name='min_hardware_generation',
            field=models.CharField(blank=True, max_length=32),
        ),
        migrations.AddField(
            model_name='jobtemplate',
            name='queue',
            field=models.CharField(blank=True, max_length=100),
        ),
        migrations.RemoveField(model_name="job", name="node"),
        migrations.AddField(
            model_name="job",
            name="node",
            field=models.ForeignKey(
                blank=True,
                help_text="the UFDL job-launcher node that acquired it",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="jobs",
                to="runners.node",
            ),
        ),
        migrations.AddIndex(
            model_name="job",
            index=models.Index(
                condition=models.Q(
                    ("deletion_time__isnull", True), ("node__isnull", True), ("runner", "node"), ("status", "created")
                ),
                fields=["id"],
                name="job_node_queue",
            ),
        ),
        migrations.RunPython(set_runners, migrations.RunPython.noop),
    ]
