"""Templates and jobs in UFDL projects, step 2 of 3 (data): a template's group becomes the project of that
name in the team of that name (made by workspaces 0003); a job of a project-scoped template joins the
template's project (a meta-job's children their parent's); job references to datasets follow the model
to its new app."""

from django.db import migrations


def groups_to_projects(apps, schema_editor):
    JobTemplate = apps.get_model("jobtemplates", "JobTemplate")
    Job = apps.get_model("jobtemplates", "Job")
    JobReference = apps.get_model("jobtemplates", "JobReference")
    Project = apps.get_model("workspaces", "Project")
    for template in JobTemplate.objects.exclude(project=None).select_related("project"):
        name = template.project.name
        template.team_project = Project.objects.get(name=name, team__name=name, deletion_time=None)
        template.save(update_fields=["team_project"])
    for template in JobTemplate.objects.filter(scope="project").exclude(team_project=None):
        Job.objects.filter(template=template).update(project=template.team_project)
    for child in Job.objects.filter(project=None).exclude(parent=None).exclude(parent__project=None):
        Job.objects.filter(pk=child.pk).update(project=child.parent.project_id)
    JobReference.objects.filter(model_label="contracts.Dataset").update(model_label="workspaces.Dataset")


def projects_to_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    JobTemplate = apps.get_model("jobtemplates", "JobTemplate")
    JobReference = apps.get_model("jobtemplates", "JobReference")
    for template in JobTemplate.objects.exclude(team_project=None).select_related("team_project"):
        template.project, _ = Group.objects.get_or_create(name=template.team_project.name)
        template.save(update_fields=["project"])
    JobReference.objects.filter(model_label="workspaces.Dataset").update(model_label="contracts.Dataset")


class Migration(migrations.Migration):
    dependencies = [
        ("jobtemplates", "0003_workspace_projects"),
    ]

    operations = [
        migrations.RunPython(groups_to_projects, projects_to_groups),
    ]
