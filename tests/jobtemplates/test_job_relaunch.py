"""job_relaunch (jobtemplates.services.jobs.relaunch): a new job from a job's template with its values or
some changed, checked as create-job checks them, recording its origin; what is carried over (project,
notification overrides for the same creator only) and what is refused (a child job, an invisible or
soft-deleted template, invalid values: nothing created)."""

from __future__ import annotations

import pytest
from django.utils import timezone

from config.errors import ApplicationError, PermissionDenied
from jobtemplates.models import Job, JobTemplate
from jobtemplates.services.jobs import NotRelaunchable, job_create, job_relaunch
from jobtemplates.services.jobs.creation import TemplateDeleted
from tests.factories import JobFactory
from tests.jobtemplates.admin.conftest import NOOP_BODY, builtin

pytestmark = pytest.mark.django_db

OVERRIDE = {"actions": {"on_error": [{"message": "failed: {error}"}]}}


@pytest.fixture
def noop(catalogue, admin_user) -> JobTemplate:
    return builtin("noop", admin_user)


@pytest.fixture
def source(noop, user) -> Job:
    return job_create(template=noop, body={**NOOP_BODY, "notification_override": OVERRIDE}, creator=user)


def test_the_same_values(source, user):
    relaunched = job_relaunch(job=source, creator=user)
    assert relaunched.pk != source.pk and relaunched.relaunched_from_id == source.pk
    fields = ("template_id", "input_values", "parameter_values", "resolved_parameters", "description")
    assert [getattr(relaunched, name) for name in fields] == [getattr(source, name) for name in fields]
    assert relaunched.notification_override == OVERRIDE  # the creator's own
    assert list(source.relaunches.all()) == [relaunched]


def test_changes_replace_the_jobs_values(source, user):
    relaunched = job_relaunch(
        job=source, creator=user, changes={"parameter_values": {"steps": {"value": 2, "type": "int"}}}
    )
    assert relaunched.parameter_values == {"steps": {"value": 2, "type": "int"}}
    assert relaunched.description == source.description


def test_another_relauncher_does_not_get_the_creators_notification_overrides(source, other_user):
    relaunched = job_relaunch(job=source, creator=other_user)
    assert (relaunched.creator_id, relaunched.notification_override) == (other_user.pk, None)


def test_invalid_values_are_every_problem_located_and_nothing_is_created(source, user):
    with pytest.raises(ApplicationError) as raised:
        job_relaunch(
            job=source,
            creator=user,
            changes={"parameter_values": {"sleep": {"value": "slow", "type": "float"}}, "surprise": 1},
        )
    paths = sorted(problem.path for problem in raised.value.problems)
    assert paths == ["parameter_values.sleep.value", "surprise"], raised.value.problems
    assert raised.value.status_code == 422
    assert Job.objects.count() == 1


def test_a_child_job_is_refused(noop, user):
    parent = JobFactory(template=noop, creator=user, finished=True)
    child = JobFactory(template=noop, creator=user, finished=True, parent=parent, child_name="a")
    with pytest.raises(NotRelaunchable) as raised:
        job_relaunch(job=child, creator=user)
    assert (raised.value.status_code, raised.value.extra) == (409, {"parent": parent.pk})


def test_a_template_the_relauncher_may_not_see_is_refused(catalogue, admin_user, user, other_user):
    personal = builtin("noop", user, name="alices_noop", scope="user")
    job = job_create(template=personal, body=NOOP_BODY, creator=user)
    with pytest.raises(PermissionDenied):
        job_relaunch(job=job, creator=other_user)
    assert job_relaunch(job=job, creator=admin_user).relaunched_from_id == job.pk  # admins see every template


def test_a_soft_deleted_template_is_a_409(source, user, noop):
    JobTemplate.objects.filter(pk=noop.pk).update(deletion_time=timezone.now())
    source.template.refresh_from_db()
    with pytest.raises(TemplateDeleted):
        job_relaunch(job=source, creator=user)
