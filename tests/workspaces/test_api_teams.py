"""``/v1/teams``, ``/v1/projects`` and memberships, driven exactly as UFDL's client drives them
(docs/ufdl-data-layer.md): shapes, UFDL's membership rules with its holes closed, soft delete that takes
what it holds along and reinstate that brings it back, hard delete refused while anything is inside."""

from __future__ import annotations

import pytest

from tests.factories import DatasetFactory, ProjectFactory, TeamFactory, UserFactory
from tests.workspaces.ufdl_client import UFDLError
from workspaces.models import Dataset, Membership, Project, Team

pytestmark = pytest.mark.django_db

TEAM_KEYS = ["pk", "name", "members", "creator", "creation_time", "deletion_time"]
PROJECT_KEYS = ["pk", "name", "team", "creator", "creation_time", "deletion_time"]
MEMBERSHIP_KEYS = ["user", "team", "permissions", "creator", "creation_time", "deletion_time"]


def refused(call, status: int) -> dict:
    """Run ``call``; it must fail with ``status``; answers the error body."""
    with pytest.raises(UFDLError) as error:
        call()
    assert error.value.status_code == status, error.value.detail
    return error.value.detail


@pytest.fixture
def admin(ufdl):
    return ufdl("root", staff=True)


@pytest.fixture
def team(admin, ufdl):
    """A team "lab" with alice (A), bob (W) and carol (R); dave is in no team."""
    for name in ("alice", "bob", "carol", "dave"):
        ufdl(name)
    created = admin.teams.create("lab")
    for username, level in (("alice", "A"), ("bob", "W"), ("carol", "R")):
        admin.teams.add_membership(created["pk"], username, level)
    return created


@pytest.fixture
def sessions(team, ufdl):
    return {name: ufdl(name) for name in ("alice", "bob", "carol", "dave")}


class TestTeams:
    def test_admins_create_teams_in_ufdls_shape(self, admin, ufdl):
        created = admin.teams.create("lab")
        assert list(created) == TEAM_KEYS
        assert created["name"] == "lab" and created["members"] == []  # the creator is not made a member
        assert created["creator"] == UserFactory(username="root").pk and created["deletion_time"] is None
        assert admin.teams.retrieve(created["pk"]) == created
        assert refused(lambda: ufdl("alice").teams.create("mine"), 403)["code"] == "permission_denied"
        assert refused(lambda: admin.teams.create("lab"), 409)["code"] == "duplicate"

    def test_members_see_their_teams_with_members_and_levels(self, team, sessions):
        alice, dave = sessions["alice"], sessions["dave"]
        members = alice.teams.retrieve(team["pk"])["members"]
        assert [(m["username"], m["permissions"]) for m in members] == [("alice", "A"), ("bob", "W"), ("carol", "R")]
        assert set(members[0]) == {"pk", "username", "permissions"}
        assert [t["pk"] for t in alice.teams.list()] == [team["pk"]]
        assert dave.teams.list() == []
        assert refused(lambda: dave.teams.retrieve(team["pk"]), 404)["code"] == "not_found"

    def test_renaming_takes_admin_in_the_team(self, team, sessions, admin):
        assert sessions["alice"].teams.partial_update(team["pk"], name="lab-2")["name"] == "lab-2"
        assert sessions["alice"].teams.update(team["pk"], name="lab-3")["name"] == "lab-3"
        refused(lambda: sessions["bob"].teams.partial_update(team["pk"], name="mine"), 403)
        admin.teams.create("taken")
        assert refused(lambda: sessions["alice"].teams.update(team["pk"], name="taken"), 409)["code"] == "duplicate"
        assert Team.objects.get(pk=team["pk"]).name == "lab-3"

    def test_bad_names_are_400_with_their_path(self, admin):
        for name in ("", " padded ", "x" * 201, "tab\there"):
            assert refused(lambda name=name: admin.teams.create(name), 400)["errors"][0]["path"] == "name"


class TestMemberships:
    def test_add_update_remove_answer_the_membership(self, team, sessions):
        alice = sessions["alice"]
        added = alice.teams.add_membership(team["pk"], "dave", "X")
        assert list(added) == MEMBERSHIP_KEYS
        dave = UserFactory(username="dave")
        assert (added["user"], added["team"], added["permissions"]) == (dave.pk, team["pk"], "X")
        assert added["creator"] == UserFactory(username="alice").pk and added["deletion_time"] is None
        assert alice.teams.update_membership(team["pk"], "dave", "W")["permissions"] == "W"
        removed = alice.teams.remove_membership(team["pk"], "dave")
        assert removed["deletion_time"] is not None
        assert "dave" not in [m["username"] for m in alice.teams.retrieve(team["pk"])["members"]]
        # The removed membership stays as a record of who had access when.
        assert Membership.objects.filter(user=dave, deletion_time__isnull=False).count() == 1
        assert alice.teams.add_membership(team["pk"], "dave")["permissions"] == "R"  # R when not given

    def test_mistakes_are_clear(self, team, sessions):
        alice = sessions["alice"]
        assert refused(lambda: alice.teams.add_membership(team["pk"], "bob", "A"), 409)["code"] == "already_a_member"
        gone = refused(lambda: alice.teams.remove_membership(team["pk"], "dave"), 422)["errors"][0]
        assert (gone["path"], gone["code"]) == ("username", "not_a_member")
        nobody = refused(lambda: alice.teams.add_membership(team["pk"], "nobody"), 422)["errors"][0]
        assert (nobody["path"], nobody["code"]) == ("username", "does_not_exist")
        context = alice.context
        for body, path in (
            ({"method": "join", "username": "dave"}, "method"),
            ({"method": "add", "username": "dave", "permissions": "Z"}, "permissions"),
            ({"method": "add", "username": "dave", "level": "W"}, "level"),
            ({"method": "add"}, "username"),
        ):
            response = context._json("PATCH", f"v1/teams/{team['pk']}/memberships", body)
            assert response.status_code == 400, body
            assert path in {e["path"] for e in response.json()["errors"]}, body

    def test_only_team_admins_change_memberships_and_others_learn_nothing(self, team, sessions):
        assert refused(lambda: sessions["bob"].teams.add_membership(team["pk"], "dave", "A"), 403)
        # A non-member cannot even tell which usernames exist (UFDL checked the name first).
        for username in ("alice", "nobody"):
            assert refused(lambda u=username: sessions["dave"].teams.add_membership(team["pk"], u), 404)
        assert not Membership.objects.filter(user__username="dave").exists()

    def test_the_last_admin_cannot_leave_or_step_down(self, team, sessions, admin):
        alice = sessions["alice"]
        assert refused(lambda: alice.teams.update_membership(team["pk"], "alice", "W"), 409)["code"] == (
            "last_administrator"
        )
        refused(lambda: alice.teams.remove_membership(team["pk"], "alice"), 409)
        alice.teams.update_membership(team["pk"], "bob", "A")
        assert alice.teams.remove_membership(team["pk"], "alice")["deletion_time"] is not None
        # Site admins may leave a team without any (UFDL's teams start that way).
        admin.teams.remove_membership(team["pk"], "bob")

    def test_permissions_for_a_user(self, team, sessions, admin):
        assert sessions["alice"].teams.get_permissions_for_user(team["pk"], "bob") == "W"
        assert admin.teams.get_permissions_for_user(team["pk"], "carol") == "R"
        assert sessions["carol"].teams.get_permissions_for_user(team["pk"], "carol") == "R"  # ours: about yourself
        refused(lambda: sessions["carol"].teams.get_permissions_for_user(team["pk"], "bob"), 403)
        not_member = refused(lambda: sessions["alice"].teams.get_permissions_for_user(team["pk"], "dave"), 422)
        assert not_member["errors"][0]["code"] == "not_a_member"
        refused(lambda: sessions["dave"].teams.get_permissions_for_user(team["pk"], "dave"), 404)


class TestProjects:
    def test_writers_create_projects_in_ufdls_shape(self, team, sessions, admin):
        created = sessions["bob"].projects.create("birds", team["pk"])
        assert list(created) == PROJECT_KEYS
        assert (created["name"], created["team"], created["creator"]) == (
            "birds",
            team["pk"],
            UserFactory(username="bob").pk,
        )
        assert sessions["carol"].projects.retrieve(created["pk"]) == created
        assert [p["pk"] for p in sessions["carol"].projects.list()] == [created["pk"]]
        assert sessions["dave"].projects.list() == []
        refused(lambda: sessions["dave"].projects.retrieve(created["pk"]), 404)
        assert (
            refused(lambda: sessions["carol"].projects.create("mine", team["pk"]), 403)["errors"][0]["path"] == "team"
        )
        hidden = refused(lambda: sessions["dave"].projects.create("mine", team["pk"]), 422)["errors"][0]
        assert (hidden["path"], hidden["code"]) == ("team", "does_not_exist")
        assert refused(lambda: sessions["bob"].projects.create("birds", team["pk"]), 409)["code"] == "duplicate"
        # The same name in another team is another project.
        other = admin.teams.create("other")
        assert admin.projects.create("birds", other["pk"])["team"] == other["pk"]

    def test_moving_a_project_takes_write_in_both_teams(self, team, sessions, admin):
        project = sessions["bob"].projects.create("birds", team["pk"])
        other = admin.teams.create("other")
        admin.teams.add_membership(other["pk"], "bob", "R")
        # bob writes in lab but only reads in other: the move is refused (UFDL allowed it).
        assert refused(lambda: sessions["bob"].projects.partial_update(project["pk"], team=other["pk"]), 403)
        assert Project.objects.get(pk=project["pk"]).team_id == team["pk"]
        admin.teams.update_membership(other["pk"], "bob", "W")
        assert sessions["bob"].projects.partial_update(project["pk"], team=other["pk"])["team"] == other["pk"]
        refused(lambda: sessions["carol"].projects.partial_update(project["pk"], name="x"), 404)  # not hers now

    def test_readers_do_not_change_projects(self, team, sessions):
        project = sessions["bob"].projects.create("birds", team["pk"])
        refused(lambda: sessions["carol"].projects.partial_update(project["pk"], name="mine"), 403)
        refused(lambda: sessions["carol"].projects.destroy(project["pk"]), 403)
        assert sessions["bob"].projects.update(project["pk"], name="owls", team=team["pk"])["name"] == "owls"


class TestDeletion:
    @pytest.fixture
    def filled(self, team, sessions):
        """lab's project birds with a dataset."""
        project = Project.objects.get(pk=sessions["bob"].projects.create("birds", team["pk"])["pk"])
        return project, DatasetFactory(project=project, creator=UserFactory(username="bob"))

    def test_deleting_a_team_hides_its_projects_and_datasets_and_reinstating_brings_them_back(
        self, team, sessions, admin, filled
    ):
        project, dataset = filled
        alone = DatasetFactory(project=project, creator=None)
        alone.deletion_time = alone.creation_time  # deleted earlier, on its own: stays deleted
        alone.save()
        sessions["alice"].teams.destroy(team["pk"])
        assert sessions["alice"].teams.list() == [] and sessions["bob"].projects.list() == []
        refused(lambda: sessions["bob"].datasets.retrieve(dataset.pk), 404)
        assert Dataset.objects.get(pk=dataset.pk).deletion_time is not None
        refused(lambda: sessions["alice"].teams.reinstate(team["pk"]), 403)  # administrators only
        assert admin.teams.reinstate(team["pk"])["deletion_time"] is None
        assert sessions["bob"].datasets.retrieve(dataset.pk)["deletion_time"] is None
        assert [m["username"] for m in sessions["alice"].teams.retrieve(team["pk"])["members"]] == [
            "alice",
            "bob",
            "carol",
        ]
        assert Dataset.objects.get(pk=alone.pk).deletion_time is not None

    def test_deleting_a_project_takes_its_datasets_along(self, team, sessions, admin, filled):
        project, dataset = filled
        sessions["bob"].projects.destroy(project.pk)
        assert sessions["bob"].datasets.list() == []
        assert admin.projects.reinstate(project.pk)["deletion_time"] is None
        assert [d["pk"] for d in sessions["bob"].datasets.list()] == [dataset.pk]

    def test_a_project_of_a_deleted_team_is_reinstated_with_its_team(self, team, sessions, admin, filled):
        project, _ = filled
        admin.teams.destroy(team["pk"])
        assert refused(lambda: admin.projects.reinstate(project.pk), 409)["code"] == "team_deleted"

    def test_hard_delete_is_refused_while_anything_is_inside(self, team, sessions, admin, filled):
        project, dataset = filled
        refused(lambda: sessions["alice"].teams.hard_delete(team["pk"]), 403)
        assert refused(lambda: admin.teams.hard_delete(team["pk"]), 409)["code"] == "referenced"
        assert refused(lambda: admin.projects.hard_delete(project.pk), 409)["code"] == "referenced"
        admin.datasets.hard_delete(dataset.pk)
        assert admin.projects.hard_delete(project.pk)["pk"] == project.pk
        assert admin.teams.hard_delete(team["pk"])["name"] == "lab"
        assert not Team.objects.exists() and not Membership.objects.exists()

    def test_reinstating_onto_a_taken_name_is_409(self, admin):
        first = admin.teams.create("lab")
        admin.teams.destroy(first["pk"])
        admin.teams.create("lab")
        assert refused(lambda: admin.teams.reinstate(first["pk"]), 409)["code"] == "duplicate"


class TestListsAndFilters:
    def test_filters_and_a_constant_number_of_queries(self, client, user, django_assert_max_num_queries):
        teams = [TeamFactory(name=f"team-{i}", members={user: "R", UserFactory(): "W"}) for i in range(3)]
        for team in teams:
            ProjectFactory(team=team, name=f"p-{team.name}")
        spec = {"expressions": [{"type": "contains", "field": "name", "sub_string": "team-1"}]}
        assert [t["name"] for t in client.post("/v1/teams/list", spec, format="json").json()] == ["team-1"]
        spec = {"expressions": [{"type": "exact", "field": "team.name", "value": "team-2"}]}
        assert [p["name"] for p in client.post("/v1/projects/list", spec, format="json").json()] == ["p-team-2"]
        with django_assert_max_num_queries(4):
            assert len(client.post("/v1/teams/list").json()) == 3
        for i in range(5):
            TeamFactory(name=f"more-{i}", members={user: "R", UserFactory(): "A"})
        with django_assert_max_num_queries(4):
            assert len(client.post("/v1/teams/list").json()) == 8
        assert client.get("/v1/teams").json()["count"] == 8
        bad = client.post(
            "/v1/teams/list", {"expressions": [{"type": "exact", "field": "members.password"}]}, format="json"
        )
        assert bad.status_code == 400


def test_users_by_name_as_the_client_reads_them(ufdl):
    alice = ufdl("alice")
    assert alice.users.retrieve_by_username("alice")["username"] == "alice"
    refused(lambda: alice.users.retrieve_by_username("bob"), 404)
