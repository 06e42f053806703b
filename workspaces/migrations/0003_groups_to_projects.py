"""Datasets as UFDL has them, step 2 of 3 (data): every Django group a dataset or template named as its
project becomes a team and a project of the group's name, the group's users members with W (they could
add datasets to it before); every stored file gets its content handle."""

import hashlib

from django.db import migrations

CHUNK = 1024 * 1024


def groups_to_projects(apps, schema_editor):
    """Every group a dataset or template names becomes a team and a project of the group's name."""
    Group = apps.get_model("auth", "Group")
    Dataset = apps.get_model("workspaces", "Dataset")
    JobTemplate = apps.get_model("jobtemplates", "JobTemplate")
    Team = apps.get_model("workspaces", "Team")
    Membership = apps.get_model("workspaces", "Membership")
    Project = apps.get_model("workspaces", "Project")
    used = set(Dataset.objects.exclude(project=None).values_list("project_id", flat=True))
    used |= set(JobTemplate.objects.exclude(project=None).values_list("project_id", flat=True))
    for group in Group.objects.filter(pk__in=used).order_by("pk"):
        team, _ = Team.objects.get_or_create(name=group.name, deletion_time=None)
        for user in group.user_set.all():
            Membership.objects.get_or_create(user=user, team=team, deletion_time=None, defaults={"permissions": "W"})
        project, _ = Project.objects.get_or_create(name=group.name, team=team, deletion_time=None)
        Dataset.objects.filter(project_id=group.pk).update(team_project=project)


def projects_to_groups(apps, schema_editor):
    """Back: each project's datasets go to a group of the project's name (created when missing)."""
    Group = apps.get_model("auth", "Group")
    Dataset = apps.get_model("workspaces", "Dataset")
    for dataset in Dataset.objects.exclude(team_project=None).select_related("team_project"):
        dataset.project, _ = Group.objects.get_or_create(name=dataset.team_project.name)
        dataset.save(update_fields=["project"])


def compute_handles(apps, schema_editor):
    """The SHA-256 of every stored file (a file missing from storage keeps an empty handle)."""
    DatasetFile = apps.get_model("workspaces", "DatasetFile")
    for datafile in DatasetFile.objects.filter(handle="").iterator():
        digest = hashlib.sha256()
        try:
            with datafile.file.open("rb") as stream:
                for chunk in iter(lambda: stream.read(CHUNK), b""):
                    digest.update(chunk)
        except (OSError, ValueError):
            continue
        DatasetFile.objects.filter(pk=datafile.pk).update(handle=digest.hexdigest())


class Migration(migrations.Migration):
    dependencies = [
        ("workspaces", "0002_ufdl_datasets"),
        ("jobtemplates", "0002_jobreference"),
    ]

    operations = [
        migrations.RunPython(groups_to_projects, projects_to_groups),
        migrations.RunPython(compute_handles, migrations.RunPython.noop),
    ]
