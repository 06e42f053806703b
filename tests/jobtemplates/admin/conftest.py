"""Fixtures for the jobs' admin pages: the built-in noop template and a sleep_train → sleep_predict
meta-template (both run by Celery workers: the test worker is live), jobs made by create-job, and
browsers logged in as a superuser, as plain staff (who may view jobs) and as a user who is not staff."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from jobtemplates.models import Job, JobTemplate
from jobtemplates.services.jobs import job_create
from jobtemplates.services.templates import template_import
from tests.factories import UserFactory

BUILTIN = Path(__file__).resolve().parents[3] / "templates" / "builtin"
JOBS = "/admin/jobtemplates/job"
NOOP_BODY = {"input_values": {}, "parameter_values": {"sleep": {"value": 0.5, "type": "float"}}, "description": "first"}


def builtin(file: str, creator, **changes) -> JobTemplate:
    body = {**json.loads((BUILTIN / f"{file}.json").read_text()), **changes}
    return template_import(data=body, creator=creator).template


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def console_templates(creator) -> dict[str, JobTemplate]:
    """noop, sleep_train, sleep_predict and the train_predict meta-template (train → predict)."""
    train = builtin("sleep_train", creator)
    predict = builtin("sleep_predict", creator)
    meta = template_import(
        data={
            "name": "train_predict",
            "licence": "Apache 2.0",
            "domain": "ic",
            "specific": {
                "nodes": {"train": {"name": "sleep_train"}, "predict": {"name": "sleep_predict"}},
                "dependencies": [
                    {"from_node": "train", "from_output": "model", "to_node": "predict", "to_input": "model"}
                ],
            },
        },
        creator=creator,
    ).template
    return {"noop": builtin("noop", creator), "train": train, "predict": predict, "meta": meta}


@pytest.fixture
def templates(catalogue, admin_user) -> dict[str, JobTemplate]:
    return console_templates(admin_user)


def staff(username: str):
    """A staff user who may view jobs and job outputs here, and nothing more."""
    member = UserFactory(username=username, is_staff=True)
    member.user_permissions.add(*Permission.objects.filter(codename__in=["view_job", "view_joboutput"]))
    return member


@pytest.fixture
def operator(db):
    """Plain staff: creates jobs, views them here; holds neither cancel_any_job nor abort_job."""
    return staff("olga")


@pytest.fixture
def other_operator(db):
    return staff("oscar")


def browser_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def root_browser(admin_user) -> Client:
    return browser_of(admin_user)


@pytest.fixture
def operator_browser(operator) -> Client:
    return browser_of(operator)


@pytest.fixture
def noop_job(templates, operator) -> Job:
    """A queued noop job the operator created with create-job."""
    return job_create(template=templates["noop"], body=NOOP_BODY, creator=operator)
