"""The migrations that brought teams and projects: data made when projects were Django groups and
datasets lived in the contracts app comes through with nothing lost."""

from __future__ import annotations

import hashlib

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [
    ("contracts", "0003_docker_image_cuda_required"),
    ("jobtemplates", "0002_jobreference"),
    ("workspaces", None),
]


def migrate(targets):
    """Migrate to ``targets`` (``(app, None)``: none of the app's migrations); the models as they are then."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    return executor.loader.project_state([target for target in targets if target[1] is not None]).apps


def latest():
    return MigrationExecutor(connection).loader.graph.leaf_nodes()


@pytest.fixture
def old_apps(media_root):
    try:
        yield migrate(BEFORE)
    finally:
        migrate(latest())  # whatever happened: later tests need today's schema


def test_groups_become_teams_and_projects_and_everything_follows(old_apps):
    User = old_apps.get_model("auth", "User")
    Group = old_apps.get_model("auth", "Group")
    Domain = old_apps.get_model("contracts", "Domain")
    Licence = old_apps.get_model("contracts", "Licence")
    Dataset = old_apps.get_model("contracts", "Dataset")
    DatasetFile = old_apps.get_model("contracts", "DatasetFile")
    JobTemplate = old_apps.get_model("jobtemplates", "JobTemplate")
    Job = old_apps.get_model("jobtemplates", "Job")
    JobReference = old_apps.get_model("jobtemplates", "JobReference")

    alice, bob = User.objects.create(username="alice"), User.objects.create(username="bob")
    lab, unused = Group.objects.create(name="lab"), Group.objects.create(name="unused")
    lab.user_set.add(alice, bob)
    unused.user_set.add(alice)
    domain = Domain.objects.create(name="ic", description="Image Classification")
    licence = Licence.objects.create(name="MIT")
    shared = Dataset.objects.create(name="birds", domain=domain, licence=licence, project=lab, creator=alice)
    personal = Dataset.objects.create(name="mine", domain=domain, licence=licence, creator=bob, is_public=True)
    stored = default_storage.save(f"datasets/{shared.pk}/a.png", ContentFile(b"pixels"))
    DatasetFile.objects.create(dataset=shared, filename="a.png", file=stored, size=6)
    scoped = JobTemplate.objects.create(name="t", version=1, scope="project", project=lab, licence=licence)
    public = JobTemplate.objects.create(name="p", version=1, scope="public", licence=licence)
    in_lab = Job.objects.create(template=scoped, creator=bob)
    child = Job.objects.create(template=public, creator=bob, parent=in_lab, child_name="c")
    elsewhere = Job.objects.create(template=public, creator=bob)
    JobReference.objects.create(job=elsewhere, model_label="contracts.Dataset", row_pk=shared.pk, path="input_values.d")

    new_apps = migrate(latest())
    Team = new_apps.get_model("workspaces", "Team")
    Project = new_apps.get_model("workspaces", "Project")
    Membership = new_apps.get_model("workspaces", "Membership")
    NewDataset = new_apps.get_model("workspaces", "Dataset")
    NewFile = new_apps.get_model("workspaces", "DatasetFile")
    NewTemplate = new_apps.get_model("jobtemplates", "JobTemplate")
    NewJob = new_apps.get_model("jobtemplates", "Job")
    NewReference = new_apps.get_model("jobtemplates", "JobReference")

    # Only the groups something named became teams; their users are members who may write.
    (team,) = Team.objects.all()
    assert team.name == "lab"
    assert sorted(Membership.objects.filter(team=team).values_list("user__username", "permissions")) == [
        ("alice", "W"),
        ("bob", "W"),
    ]
    project = Project.objects.get(team=team, name="lab")
    assert NewDataset.objects.get(pk=shared.pk).project_id == project.pk
    assert NewDataset.objects.get(pk=personal.pk).project_id is None
    assert NewDataset.objects.get(pk=personal.pk).is_public is True
    assert (NewDataset.objects.get(pk=shared.pk).previous_version, NewDataset.objects.get(pk=shared.pk).tags) == (
        -1,
        "",
    )
    datafile = NewFile.objects.get(dataset_id=shared.pk)
    assert datafile.handle == hashlib.sha256(b"pixels").hexdigest() and datafile.metadata == ""
    assert NewTemplate.objects.get(pk=scoped.pk).project_id == project.pk
    assert NewTemplate.objects.get(pk=public.pk).project_id is None
    # Jobs of the project-scoped template (and their children) are seen by the project's members.
    assert NewJob.objects.get(pk=in_lab.pk).project_id == project.pk
    assert NewJob.objects.get(pk=child.pk).project_id == project.pk
    assert NewJob.objects.get(pk=elsewhere.pk).project_id is None
    assert NewReference.objects.get(job_id=elsewhere.pk).model_label == "workspaces.Dataset"
