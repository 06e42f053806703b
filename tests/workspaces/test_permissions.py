"""The permission matrix of the data layer and of jobs: every route of teams, projects, datasets and jobs,
for every kind of caller (anonymous, a stranger in no team, a member at R, X, W and A, an administrator).

What a caller may not see answers 404 (a stranger learns nothing); what they see but may not do answers
403; anonymous callers are 401. Each cell runs on a fresh world, so destructive routes do not leak into
other cells.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from jobtemplates.models import Job, JobTemplate
from jobtemplates.services.jobs import job_output_write
from tests.conftest import bearer_client
from tests.factories import DatasetFactory, DomainFactory, JobFactory, LicenceFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db

CALLERS = ("anonymous", "stranger", "R", "X", "W", "A", "admin")
MEMBERS = ("R", "X", "W", "A")


@dataclass
class World:
    """A team (members at each level), its project, a private dataset there and the W member's job."""

    users: dict
    team: object
    project: object
    dataset: object
    job: Job

    def client(self, caller: str):
        return bearer_client(None if caller == "anonymous" else self.users[caller])


@pytest.fixture
def world(db, media_root) -> World:
    users = {level: UserFactory(username=f"member-{level}") for level in MEMBERS}
    users["stranger"] = UserFactory(username="stranger")
    users["admin"] = UserFactory(username="root", is_staff=True, is_superuser=True)
    UserFactory(username="newcomer")
    project = ProjectFactory(name="lab", members={users[level]: level for level in MEMBERS})
    domain = DomainFactory(name="ic")
    dataset = DatasetFactory(
        name="pets",
        project=project,
        creator=users["W"],
        domain=domain,
        files={"a.png": b"a"},
        categories={"a.png": ["cat"]},
    )
    template = JobTemplate.objects.create(
        name="t",
        version=1,
        scope="project",
        project=project,
        licence=LicenceFactory(),
        contract="Export",
        contract_name="Export",
    )
    job = JobFactory(template=template, creator=users["W"], project=project)
    job_output_write(job=job, name="log", output_type="BLOB<'log'>", data=b"log")
    return World(users=users, team=project.team, project=project, dataset=dataset, job=job)


def expect(*, anonymous=401, stranger=404, members=200, admin=200, **levels) -> dict[str, int]:
    table = {"anonymous": anonymous, "stranger": stranger, "admin": admin}
    table.update({level: levels.get(level, members) for level in MEMBERS})
    return table


def writers(ok: int, *, stranger: int = 404, admin: int | None = None) -> dict[str, int]:
    """W and A may (``ok``); R and X see but may not (403)."""
    return expect(stranger=stranger, members=403, W=ok, A=ok, admin=ok if admin is None else admin)


def team_admins(ok: int) -> dict[str, int]:
    return expect(members=403, A=ok, admin=ok)


def admins_only(ok: int) -> dict[str, int]:
    return expect(stranger=403, members=403, admin=ok)


# route → (request, expected status per caller)
TEAM_ROUTES = {
    "list": (lambda c, w: c.post("/v1/teams/list"), expect(stranger=200)),
    "retrieve": (lambda c, w: c.get(f"/v1/teams/{w.team.pk}"), expect()),
    "create": (lambda c, w: c.post("/v1/teams/create", {"name": "new"}, format="json"), admins_only(200)),
    "rename": (lambda c, w: c.patch(f"/v1/teams/{w.team.pk}", {"name": "lab-2"}, format="json"), team_admins(200)),
    "add member": (
        lambda c, w: c.patch(
            f"/v1/teams/{w.team.pk}/memberships", {"method": "add", "username": "newcomer"}, format="json"
        ),
        team_admins(200),
    ),
    # About the A member: another member for R, X and W; themself for A (who may ask about anyone).
    "permissions of another": (lambda c, w: c.get(f"/v1/teams/{w.team.pk}/permissions/member-A"), team_admins(200)),
    "soft delete": (lambda c, w: c.delete(f"/v1/teams/{w.team.pk}"), team_admins(204)),
    "hard delete": (lambda c, w: c.delete(f"/v1/teams/{w.team.pk}/hard"), admins_only(409)),
    "reinstate": (lambda c, w: c.delete(f"/v1/teams/{w.team.pk}/reinstate"), admins_only(200)),
}
PROJECT_ROUTES = {
    "list": (lambda c, w: c.post("/v1/projects/list"), expect(stranger=200)),
    "retrieve": (lambda c, w: c.get(f"/v1/projects/{w.project.pk}"), expect()),
    "create": (
        lambda c, w: c.post("/v1/projects/create", {"name": "new", "team": w.team.pk}, format="json"),
        writers(200, stranger=422),
    ),
    "rename": (lambda c, w: c.patch(f"/v1/projects/{w.project.pk}", {"name": "lab-2"}, format="json"), writers(200)),
    "soft delete": (lambda c, w: c.delete(f"/v1/projects/{w.project.pk}"), writers(204)),
    "hard delete": (lambda c, w: c.delete(f"/v1/projects/{w.project.pk}/hard"), admins_only(409)),
    "reinstate": (lambda c, w: c.delete(f"/v1/projects/{w.project.pk}/reinstate"), admins_only(200)),
}


def _dataset(w: World) -> str:
    return f"/v1/classify/datasets/{w.dataset.pk}"


DATASET_ROUTES = {
    "list": (lambda c, w: c.post("/v1/datasets/list"), expect(stranger=200)),
    "retrieve": (lambda c, w: c.get(_dataset(w)), expect()),
    "file": (lambda c, w: c.get(f"{_dataset(w)}/files/a.png"), expect()),
    "download": (lambda c, w: c.get(f"{_dataset(w)}/download"), expect()),
    "categories": (lambda c, w: c.get(f"{_dataset(w)}/categories"), expect()),
    "metadata": (lambda c, w: c.get(f"{_dataset(w)}/metadata"), expect()),
    "create": (
        lambda c, w: c.post(
            "/v1/classify/datasets/create",
            {"name": "new", "project": w.project.pk, "licence": w.dataset.licence_id},
            format="json",
        ),
        writers(200, stranger=422),
    ),
    "update": (lambda c, w: c.patch(_dataset(w), {"description": "x"}, format="json"), writers(200)),
    "upload": (
        lambda c, w: c.generic("POST", f"{_dataset(w)}/files/b.png", b"b", content_type="application/data"),
        writers(200),
    ),
    "delete file": (lambda c, w: c.delete(f"{_dataset(w)}/files/a.png"), writers(200)),
    "set metadata": (
        lambda c, w: c.post(f"{_dataset(w)}/metadata/a.png", {"metadata": "m"}, format="json"),
        writers(200),
    ),
    "add categories": (
        lambda c, w: c.patch(
            f"{_dataset(w)}/categories", {"method": "add", "images": ["a.png"], "categories": ["pet"]}, format="json"
        ),
        writers(200),
    ),
    "set categories": (lambda c, w: c.post(f"{_dataset(w)}/categories", {"a.png": []}, format="json"), writers(200)),
    "copy": (lambda c, w: c.post(f"{_dataset(w)}/copy", {}, format="json"), writers(200)),
    "clear": (lambda c, w: c.delete(f"{_dataset(w)}/clear"), writers(200)),
    "soft delete": (lambda c, w: c.delete(_dataset(w)), writers(204)),
    "reinstate": (lambda c, w: c.delete(f"{_dataset(w)}/reinstate"), writers(200)),
    "hard delete": (lambda c, w: c.delete(f"{_dataset(w)}/hard"), admins_only(200)),
}
JOB_ROUTES = {
    "list": (lambda c, w: c.post("/v1/jobs/list"), expect(stranger=200)),
    "retrieve": (lambda c, w: c.get(f"/v1/jobs/{w.job.pk}"), expect()),
    "output": (lambda c, w: c.get(f"/v1/jobs/{w.job.pk}/outputs/log/BLOB<'log'>"), expect()),
    # The job's creator (W here) and admins change it; other members see it.
    "describe": (
        lambda c, w: c.patch(f"/v1/jobs/{w.job.pk}", {"description": "x"}, format="json"),
        expect(members=403, W=200),
    ),
    "cancel": (lambda c, w: c.post(f"/v1/jobs/{w.job.pk}/cancel"), expect(members=403, W=200)),
    "soft delete": (lambda c, w: c.delete(f"/v1/jobs/{w.job.pk}"), admins_only(204)),
}


def cells(routes: dict) -> list:
    return [pytest.param(route, caller, id=f"{route}-{caller}") for route in routes for caller in CALLERS]


def check(world: World, routes: dict, route: str, caller: str) -> None:
    request, expected = routes[route]
    response = request(world.client(caller), world)
    assert response.status_code == expected[caller], (route, caller, getattr(response, "content", b"")[:300])


@pytest.mark.parametrize(("route", "caller"), cells(TEAM_ROUTES))
def test_teams(world, route, caller):
    check(world, TEAM_ROUTES, route, caller)


@pytest.mark.parametrize(("route", "caller"), cells(PROJECT_ROUTES))
def test_projects(world, route, caller):
    check(world, PROJECT_ROUTES, route, caller)


@pytest.mark.parametrize(("route", "caller"), cells(DATASET_ROUTES))
def test_datasets(world, route, caller):
    check(world, DATASET_ROUTES, route, caller)


@pytest.mark.parametrize(("route", "caller"), cells(JOB_ROUTES))
def test_jobs(world, route, caller):
    check(world, JOB_ROUTES, route, caller)


@pytest.mark.parametrize("caller", CALLERS)
def test_lists_show_exactly_what_a_caller_may_see(world, caller):
    client = world.client(caller)
    if caller == "anonymous":
        return
    sees = caller != "stranger"
    for path, pk in (
        ("/v1/teams/list", world.team.pk),
        ("/v1/projects/list", world.project.pk),
        ("/v1/datasets/list", world.dataset.pk),
        ("/v1/jobs/list", world.job.pk),
    ):
        assert ([row["pk"] for row in client.post(path).json()] == [pk]) is sees, (path, caller)


def test_a_public_dataset_is_read_by_strangers_but_not_changed(world):
    world.dataset.is_public = True
    world.dataset.save()
    stranger = world.client("stranger")
    assert stranger.get(_dataset(world)).status_code == 200
    assert stranger.get(f"{_dataset(world)}/files/a.png").status_code == 200
    assert stranger.get(f"{_dataset(world)}/categories").json() == {"a.png": ["cat"]}
    assert stranger.patch(_dataset(world), {"description": "x"}, format="json").status_code == 403
    # Its jobs stay private: they are not public because a dataset is.
    assert stranger.get(f"/v1/jobs/{world.job.pk}").status_code == 404


def test_leaving_the_team_ends_access(world):
    from django.utils import timezone

    from workspaces.models import Membership

    reader = world.client("R")
    assert reader.get(_dataset(world)).status_code == 200
    Membership.objects.filter(user=world.users["R"]).update(deletion_time=timezone.now())
    for path in (_dataset(world), f"/v1/jobs/{world.job.pk}", f"/v1/projects/{world.project.pk}"):
        assert reader.get(path).status_code == 404, path
