"""What the OpenAPI tests share: the app called in this process inside the test's transaction, the schema
as schemathesis reads it, and a seeded database (a row of every kind the routes act on)."""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from rest_framework_simplejwt.tokens import RefreshToken

from tests.factories import DatasetFactory, JobFactory, MembershipFactory, ProjectFactory, TeamFactory, UserFactory

REPO = Path(__file__).resolve().parents[2]

# UFDL's clients upload raw files as ``application/data``: bytes, as for ``application/octet-stream``.
schemathesis.serializer.alias("application/data", "application/octet-stream")


@contextmanager
def connections_kept_open():
    """Requests through Django's WSGI handler inside this block run on the test's connection, inside its
    transaction: without the per-request connection closing (Django's test client does the same)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def load_api_schema():
    """``/v1/schema`` as schemathesis reads it, calling the app in this process (``case.call()``). Needs no
    database (a module-scoped fixture may load it)."""
    with connections_kept_open():
        return schemathesis.openapi.from_wsgi(
            "/v1/schema", WSGIHandler(), headers={"Accept": "application/vnd.oai.openapi+json"}
        )


def bearer(user) -> dict[str, str]:
    return {"Authorization": f"Bearer {RefreshToken.for_user(user).access_token}"}


@dataclass
class Seed:
    """The seeded rows: path parameter values by the path's first segment, and a user of each role."""

    path_values: dict[str, dict[str, object]]
    users: dict[str, object]

    def path_parameters(self, path: str, names: list[str]) -> dict[str, object]:
        """Values of ``names`` for ``path`` (``/v1/jobs/{id}/…`` → the seeded job's pk …) that name a seeded row."""
        resource = path.removeprefix("/v1/").split("/")[0]
        if resource == "job-templates" and path.endswith("/graph"):
            resource = "job-templates-meta"
        values = self.path_values.get(resource, {})
        return {name: values[name] for name in names if name in values}


def seed_rows(settings, tmp_path) -> Seed:
    """A catalogue, the built-in templates (a meta one among them), a team with a project and a dataset of
    each domain, a finished job of the plain user with an output, and a node."""
    from django.apps import apps
    from django.core.files.base import ContentFile
    from django.utils import timezone

    from contracts.models import Domain, Licence
    from contracts.services.catalogue_seed import catalogue_seed
    from jobtemplates.models import JobOutput, JobTemplate
    from jobtemplates.services.templates import template_import
    from runners.models import Node

    settings.MEDIA_ROOT = tmp_path / "media"
    catalogue_seed()
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    user = UserFactory(username="alice")
    for path in sorted((REPO / "templates" / "builtin").glob("*.json")):
        template_import(data=json.loads(path.read_text(encoding="utf-8")), creator=admin)
    team = TeamFactory(name="fuzzers")
    MembershipFactory(team=team, user=user, permissions="A")
    project = ProjectFactory(name="fuzzing", team=team)
    licence = Licence.objects.order_by("pk").first()
    datasets = {}
    for name in ("ic", "od", "is", "sc", "sp"):
        datasets[name] = DatasetFactory(
            name=f"fuzz-{name}",
            domain=Domain.objects.get(name=name),
            licence=licence,
            creator=user,
            project=project,
            files={"a.png": b"\x89PNG fake"},
        )
    workable = JobTemplate.objects.filter(name="noop").first()
    meta = JobTemplate.objects.filter(kind="meta").first()
    job = JobFactory(template=workable, creator=user, finished=True)
    output = JobOutput(job=job, name="model", type="JSON")
    output.file.save("model.json", ContentFile(b"{}"), save=True)
    Node.objects.create(owner=admin, ip="10.0.0.7", index=0, last_seen=timezone.now())
    dataset_values = {
        "id": datasets["ic"].pk,
        "filename": "a.png",
        "other": datasets["ic"].pk,
        "label": "cat",
        "prefix": "a",
    }
    path_values: dict[str, dict[str, object]] = {
        "users": {"id": user.pk},
        "teams": {"id": team.pk, "username": user.username},
        "projects": {"id": project.pk},
        "datasets": dataset_values,
        "classify": dataset_values,
        "objdet": {**dataset_values, "id": datasets["od"].pk, "other": datasets["od"].pk},
        "segments": {**dataset_values, "id": datasets["is"].pk, "other": datasets["is"].pk},
        "spectra": {**dataset_values, "id": datasets["sc"].pk, "other": datasets["sc"].pk},
        "speech": {**dataset_values, "id": datasets["sp"].pk, "other": datasets["sp"].pk},
        "job-templates": {"id": workable.pk, "contract": "Train"},
        "job-templates-meta": {"id": meta.pk if meta else workable.pk},
        "jobs": {"id": job.pk, "output_name": "model", "type_string": "JSON", "fraction": 0.5},
        "job-outputs": {"id": output.pk},
        "job-types": {"type_string": "int"},
    }
    for resource, model_label in {
        "domains": "contracts.Domain",
        "licences": "contracts.Licence",
        "licenses": "contracts.Licence",
        "frameworks": "contracts.Framework",
        "hardware": "contracts.Hardware",
        "cuda": "contracts.CUDAVersion",
        "docker": "contracts.DockerImage",
        "pretrained-models": "contracts.PretrainedModel",
        "job-contracts": "contracts.JobContract",
        "job-types": "contracts.JobType",
        "nodes": "runners.Node",
        "workers": "runners.Worker",
    }.items():
        row = apps.get_model(model_label).objects.order_by("pk").first()
        if row is not None:
            path_values.setdefault(resource, {})["id"] = row.pk
    return Seed(path_values=path_values, users={"admin": admin, "user": user})
