"""The data layer's admin, as an administrator uses it (Django's test client, logged in as a superuser):
teams with their members inline, projects, datasets with their files, the actions and the deletes, every
change through the services (their refusals shown on the form or as messages, never a 500), changelists
and change pages in a constant number of queries, and nobody else let in.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.messages import get_messages
from django.core.files.storage import default_storage
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.factories import (
    DatasetFactory,
    DomainFactory,
    LicenceFactory,
    MembershipFactory,
    ProjectFactory,
    TeamFactory,
    UserFactory,
)
from workspaces.admin import tables
from workspaces.models import Category, Dataset, DatasetFile, Membership, Project, Team, Transcription
from workspaces.services.datasets import (
    dataset_reference_check_register,
    dataset_reference_check_unregister,
    dataset_soft_delete,
    dataset_transcription_set,
)
from workspaces.services.teams import project_soft_delete, team_soft_delete

pytestmark = pytest.mark.django_db

ADMIN = "/admin/workspaces"


@pytest.fixture
def browser(admin_user) -> Client:
    """A logged-in superuser's browser (CSRF is not enforced by the test client)."""
    client = Client()
    client.force_login(admin_user)
    return client


@pytest.fixture
def world(user, other_user) -> SimpleNamespace:
    """Team vision (alice A, bob R) with projects dogs (dataset pets: two images, one labelled) and cats
    (only a soft-deleted dataset); team audio (alice W) with project talks (a transcribed speech
    dataset); a public core dataset without a project or a domain."""
    licence, mit = LicenceFactory(name="CC-BY-4.0"), LicenceFactory(name="MIT")
    ic, sp = DomainFactory(name="ic"), DomainFactory(name="sp")
    vision = TeamFactory(name="vision", members={user: "A", other_user: "R"})
    audio = TeamFactory(name="audio", members={user: "W"})
    dogs, cats = ProjectFactory(name="dogs", team=vision), ProjectFactory(name="cats", team=vision)
    talks = ProjectFactory(name="talks", team=audio)
    pets = DatasetFactory(
        name="pets",
        project=dogs,
        creator=user,
        domain=ic,
        licence=licence,
        tags="animals",
        files={"a.png": b"A", "b.png": b"BB"},
        categories={"a.png": ["dog", "puppy"]},
    )
    speeches = DatasetFactory(
        name="speeches", project=talks, creator=user, domain=sp, licence=licence, files={"s.wav": b"RIFF"}
    )
    dataset_transcription_set(dataset=speeches, filename="s.wav", transcription="hello world")
    notes = DatasetFactory(name="notes", domain=None, creator=other_user, licence=licence, is_public=True)
    retired = DatasetFactory(name="retired", project=cats, creator=user, domain=ic, licence=licence)
    dataset_soft_delete(dataset=retired)
    return SimpleNamespace(
        user=user,
        licence=licence,
        mit=mit,
        ic=ic,
        sp=sp,
        vision=vision,
        audio=audio,
        dogs=dogs,
        cats=cats,
        talks=talks,
        pets=pets,
        speeches=speeches,
        notes=notes,
        retired=retired,
    )


def page_text(response) -> str:
    assert response.status_code == 200, response.content[:500]
    return response.content.decode()


def listed(response) -> list[str]:
    assert response.status_code == 200, response.content[:500]
    return sorted(str(row) for row in response.context["cl"].result_list)


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def posted(response, changes: dict | None = None) -> dict:
    """What a change or add page sends back unchanged (every inline row included), with ``changes``."""
    assert response.status_code == 200, response.content[:500]
    forms = [response.context["adminform"].form]
    for inline in response.context["inline_admin_formsets"]:
        forms += [inline.formset.management_form, *inline.formset.forms]
    data = {}
    for form in forms:
        for bound in form:
            value = bound.value()
            if bound.field.disabled or value is None or value is False:
                continue
            data[bound.html_name] = "on" if value is True else value
    return {**data, **(changes or {})}


def run_action(browser, model: str, action: str, *rows, **extra):
    data = {"action": action, "_selected_action": [str(row.pk) for row in rows], **extra}
    return browser.post(f"{ADMIN}/{model}/", data)


def queries_of(browser, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert browser.get(url).status_code == 200
    return len(captured)


# --- every page, admins only ------------------------------------------------------------------------------


class TestPages:
    def pages(self, world) -> list[str]:
        objects = {"team": world.vision, "project": world.dogs, "dataset": world.pets}
        urls = [f"{ADMIN}/{model}/{obj.pk}/change/" for model, obj in objects.items()]
        urls += [f"{ADMIN}/{model}/" for model in (*objects, "datasetfile")]
        urls += [f"{ADMIN}/{model}/add/" for model in objects]
        urls += [f"{ADMIN}/{model}/{obj.pk}/delete/" for model, obj in objects.items()]
        urls += [f"{ADMIN}/{model}/{obj.pk}/history/" for model, obj in objects.items()]
        datafile = DatasetFile.objects.get(dataset=world.pets, filename="a.png")
        return [*urls, f"{ADMIN}/datasetfile/{datafile.pk}/change/"]

    def test_every_page_renders_for_a_superuser(self, browser, world):
        for url in self.pages(world):
            assert browser.get(url).status_code == 200, url
        assert "Teams" in page_text(browser.get("/admin/")) and "Dataset files" in page_text(browser.get("/admin/"))

    def test_nobody_else_gets_in(self, world, user):
        outsider = Client()
        outsider.force_login(user)  # a member of both teams, but not staff
        for url in self.pages(world):
            response = outsider.get(url)
            assert response.status_code == 302 and "/admin/login/" in response["Location"], url
        staff = Client()
        staff.force_login(UserFactory(username="clerk", is_staff=True))  # staff without permissions
        for url in self.pages(world):
            assert staff.get(url).status_code == 403, url
        assert staff.post(f"{ADMIN}/team/add/", {"name": "sneaky"}).status_code == 403
        assert not Team.objects.filter(name="sneaky").exists()


class TestConstantQueries:
    @staticmethod
    def grow(world, count: int) -> None:
        """``count`` more teams, each with two members and a project holding a labelled dataset; and as
        many more members of vision, datasets of dogs, labelled files of pets and transcribed ones of
        speeches."""
        for index in range(count):
            team = TeamFactory(members={UserFactory(): "A", UserFactory(): "R"})
            project = ProjectFactory(team=team)
            DatasetFactory(project=project, files={"x.png": b"x"}, categories={"x.png": ["cat"]})
            MembershipFactory(team=world.vision, user=UserFactory())
            DatasetFactory(project=world.dogs, licence=LicenceFactory())
            image = DatasetFile.objects.create(dataset=world.pets, filename=f"more/{index}.png", file="x", size=1)
            Category.objects.create(file=image, label="dog")
            speech = DatasetFile.objects.create(dataset=world.speeches, filename=f"more/{index}.wav", file="x")
            Transcription.objects.create(file=speech, text="more words")

    def test_changelists_and_change_pages(self, browser, world, django_assert_max_num_queries):
        urls = [f"{ADMIN}/{model}/" for model in ("team", "project", "dataset", "datasetfile")]
        urls += [f"{ADMIN}/datasetfile/?dataset__id__exact={world.pets.pk}", f"{ADMIN}/dataset/?q=pets"]
        urls += [
            f"{ADMIN}/team/{world.vision.pk}/change/",
            f"{ADMIN}/project/{world.dogs.pk}/change/",
            f"{ADMIN}/dataset/{world.pets.pk}/change/",
            f"{ADMIN}/dataset/{world.speeches.pk}/change/",
        ]
        browser.get(urls[0])  # the session and content types, once
        few = {url: queries_of(browser, url) for url in urls}
        self.grow(world, 6)
        for url in urls:
            with django_assert_max_num_queries(few[url], info=url):
                assert browser.get(url).status_code == 200, url


# --- teams -------------------------------------------------------------------------------------------------


class TestTeams:
    def test_the_changelist_counts_filters_and_searches(self, browser, world, user):
        team_soft_delete(team=TeamFactory(name="gone"))
        response = browser.get(f"{ADMIN}/team/")
        assert listed(response) == ["audio", "gone", "vision"]
        html = page_text(response)
        assert '<td class="field-member_count">2</td>' in html  # vision: alice and bob
        assert '<td class="field-project_count">2</td>' in html
        MembershipFactory(team=world.audio, user=UserFactory(username="carol"), deletion_time=world.pets.creation_time)
        project_soft_delete(project=world.cats)
        html = page_text(browser.get(f"{ADMIN}/team/?q=vision"))
        assert '<td class="field-member_count">2</td>' in html  # a removed member does not count
        assert '<td class="field-project_count">1 (+1 deleted)</td>' in html
        assert listed(browser.get(f"{ADMIN}/team/?state=deleted")) == ["gone"]
        assert listed(browser.get(f"{ADMIN}/team/?state=active")) == ["audio", "vision"]
        assert listed(browser.get(f"{ADMIN}/team/?q=bob")) == ["vision"]  # by member

    def test_the_change_page_shows_members_projects_and_former_members(self, browser, world, other_user):
        MembershipFactory(team=world.vision, user=UserFactory(username="carol"), deletion_time=world.pets.creation_time)
        response = browser.get(f"{ADMIN}/team/{world.vision.pk}/change/")
        (members,) = response.context["inline_admin_formsets"]
        assert sorted(form.instance.user.username for form in members.formset.forms) == ["alice", "bob"]
        html = page_text(response)
        assert f'href="{ADMIN}/project/{world.dogs.pk}/change/"' in html and ">cats</a>" in html
        assert f'href="{ADMIN}/project/?team__id__exact={world.vision.pk}"' in html
        assert "carol" in html  # under "former members"
        assert listed(browser.get(f"{ADMIN}/project/?team__id__exact={world.vision.pk}")) == ["cats", "dogs"]

    def test_adding_a_team_with_members(self, browser, world, admin_user, user):
        data = posted(browser.get(f"{ADMIN}/team/add/"), {"name": "robots"})
        data.update({"memberships-TOTAL_FORMS": 1, "memberships-0-user": user.pk, "memberships-0-permissions": "A"})
        response = browser.post(f"{ADMIN}/team/add/", data)
        assert response.status_code == 302, response.context and response.context["errors"]
        team = Team.objects.get(name="robots")
        assert team.creator == admin_user
        membership = Membership.objects.get(team=team)
        assert (membership.user, membership.permissions, membership.creator) == (user, "A", admin_user)

    def test_a_taken_name_is_a_form_error(self, browser, world):
        response = browser.post(f"{ADMIN}/team/add/", posted(browser.get(f"{ADMIN}/team/add/"), {"name": "vision"}))
        assert response.context["adminform"].form.errors["name"] == ["An active team named 'vision' already exists."]
        assert Team.objects.filter(name="vision").count() == 1
        page = browser.get(f"{ADMIN}/team/{world.audio.pk}/change/")
        response = browser.post(f"{ADMIN}/team/{world.audio.pk}/change/", posted(page, {"name": "vision"}))
        assert "already exists" in response.context["adminform"].form.errors["name"][0]
        world.audio.refresh_from_db()
        assert world.audio.name == "audio"

    def test_renaming(self, browser, world):
        page = browser.get(f"{ADMIN}/team/{world.audio.pk}/change/")
        assert (
            browser.post(f"{ADMIN}/team/{world.audio.pk}/change/", posted(page, {"name": "sound"})).status_code == 302
        )
        world.audio.refresh_from_db()
        assert world.audio.name == "sound"
        assert LogEntry.objects.filter(object_id=str(world.audio.pk), action_flag=2).exists()

    def row(self, page, username: str) -> str:
        (members,) = page.context["inline_admin_formsets"]
        (form,) = [form for form in members.formset.forms if form.instance.user.username == username]
        return form.prefix

    def test_adding_changing_and_removing_members(self, browser, world, user, other_user, admin_user):
        url = f"{ADMIN}/team/{world.vision.pk}/change/"
        carol = UserFactory(username="carol")
        page = browser.get(url)
        data = posted(page, {"memberships-TOTAL_FORMS": 3})
        data.update({"memberships-2-user": carol.pk, "memberships-2-permissions": "W"})
        data[f"{self.row(page, 'bob')}-permissions"] = "X"
        data[f"{self.row(page, 'alice')}-DELETE"] = "on"
        response = browser.post(url, data)
        assert response.status_code == 302
        active = Membership.objects.filter(team=world.vision, deletion_time=None)
        assert sorted(active.values_list("user__username", "permissions")) == [("bob", "X"), ("carol", "W")]
        removed = Membership.objects.get(team=world.vision, user=user)  # the row stays, with its deletion time
        assert removed.deletion_time is not None and removed.permissions == "A"
        assert active.get(user=carol).creator == admin_user
        change = LogEntry.objects.get(object_id=str(world.vision.pk), action_flag=2).get_change_message()
        assert "Added membership “carol in vision (W)”" in change
        assert "Changed Permissions for membership “bob in vision (X)”" in change
        assert "Deleted membership “alice in vision (A)”" in change
        # Alice may be added again: a new membership, the old row kept.
        page = browser.get(url)
        assert "alice" in page_text(page)  # under "former members"
        data = posted(page, {"memberships-TOTAL_FORMS": 3, "memberships-2-user": user.pk})
        data["memberships-2-permissions"] = "R"
        assert browser.post(url, data).status_code == 302
        assert Membership.objects.filter(team=world.vision, user=user).count() == 2

    def test_a_member_added_twice_is_refused_on_the_row_and_nothing_is_kept(self, browser, world, user):
        url = f"{ADMIN}/team/{world.vision.pk}/change/"
        page = browser.get(url)
        data = posted(page, {"name": "renamed", "memberships-TOTAL_FORMS": 3})
        data.update({"memberships-2-user": user.pk, "memberships-2-permissions": "W"})
        data[f"{self.row(page, 'bob')}-permissions"] = "W"
        response = browser.post(url, data)
        assert response.status_code == 200
        (members,) = response.context["inline_admin_formsets"]
        assert members.formset.forms[2].errors["user"] == [
            "alice is already a member of renamed (A); update the membership."
        ]
        assert 'value="renamed"' in page_text(response)  # the page as posted
        world.vision.refresh_from_db()
        assert world.vision.name == "vision"  # the rename went back with the refused row
        bob = Membership.objects.get(team=world.vision, user__username="bob")
        assert bob.permissions == "R"
        assert Membership.objects.filter(team=world.vision, user=user, deletion_time=None).count() == 1

    def test_new_members_are_found_by_name(self, browser, world):
        UserFactory(username="carol")
        query = "app_label=workspaces&model_name=membership&field_name=user&term=car"
        response = browser.get(f"/admin/autocomplete/?{query}")
        assert [result["text"] for result in response.json()["results"]] == ["carol"]

    def test_an_inactive_user_or_a_deleted_team_is_refused(self, browser, world):
        dora = UserFactory(username="dora", is_active=False)
        url = f"{ADMIN}/team/{world.vision.pk}/change/"
        data = posted(browser.get(url), {"memberships-TOTAL_FORMS": 3})
        data.update({"memberships-2-user": dora.pk, "memberships-2-permissions": "R"})
        response = browser.post(url, data)
        (members,) = response.context["inline_admin_formsets"]
        assert members.formset.forms[2].errors["user"] == ["No active user 'dora'."]
        team_soft_delete(team=world.vision)
        page = browser.get(url)
        bob = self.row(page, "bob")
        response = browser.post(url, posted(page, {f"{bob}-permissions": "W"}))
        assert response.status_code == 200
        (members,) = response.context["inline_admin_formsets"]
        (refused,) = [form for form in members.formset.forms if form.prefix == bob]
        assert refused.non_field_errors() == ["The team vision is deleted; reinstate it first."]
        assert Membership.objects.get(team=world.vision, user__username="bob").permissions == "R"

    def test_soft_delete_and_reinstate_take_projects_and_datasets_along(self, browser, world):
        response = run_action(browser, "team", "soft_delete_selected", world.vision)
        assert response.status_code == 302 and "Soft-deleted 1 team(s)." in messages_of(response)
        assert Project.objects.filter(team=world.vision, deletion_time=None).count() == 0
        assert Dataset.objects.get(pk=world.pets.pk).deletion_time is not None
        response = run_action(browser, "team", "reinstate_selected", world.vision)
        assert "Reinstated 1 team(s)." in messages_of(response)
        assert Dataset.objects.get(pk=world.pets.pk).deletion_time is None
        assert Dataset.objects.get(pk=world.retired.pk).deletion_time is not None  # deleted before: stays so

    def test_a_reinstate_clash_is_an_error_message(self, browser, world):
        run_action(browser, "team", "soft_delete_selected", world.audio)
        TeamFactory(name="audio")
        response = run_action(browser, "team", "reinstate_selected", world.audio)
        assert response.status_code == 302
        assert "audio: An active team named 'audio' already exists. (team 'audio' exists)" in messages_of(response)
        assert "Reinstated 0 team(s)." in messages_of(response)
        assert Team.objects.get(pk=world.audio.pk).deletion_time is not None

    def test_deleting_for_good_is_refused_while_projects_exist(self, browser, world):
        url = f"{ADMIN}/team/{world.vision.pk}/delete/"
        assert "protected related objects" in page_text(browser.get(url))
        assert browser.post(url, {"post": "yes"}).status_code == 200
        assert Team.objects.filter(pk=world.vision.pk).exists()
        empty = TeamFactory(name="empty", members={UserFactory(): "A"})
        response = browser.post(f"{ADMIN}/team/{empty.pk}/delete/", {"post": "yes"})
        assert response.status_code == 302
        assert not Team.objects.filter(pk=empty.pk).exists() and not Membership.objects.filter(team_id=empty.pk)

    def test_the_delete_action_deletes_what_it_may(self, browser, world):
        empty = TeamFactory(name="empty")
        confirm = run_action(browser, "team", "delete_selected", world.vision, empty)
        assert "Cannot delete" in page_text(confirm)  # Django's confirmation page names the projects
        response = run_action(browser, "team", "delete_selected", world.vision, empty, post="yes")
        assert response.status_code == 302
        notes = messages_of(response)
        assert "Deleted 1 team(s) for good." in notes
        assert any(note.startswith("vision: vision is still referenced") and "project dogs" in note for note in notes)
        assert sorted(Team.objects.values_list("name", flat=True)) == ["audio", "vision"]


# --- projects ----------------------------------------------------------------------------------------------


class TestProjects:
    def test_the_changelist_counts_filters_and_searches(self, browser, world):
        response = browser.get(f"{ADMIN}/project/")
        assert listed(response) == ["cats", "dogs", "talks"]
        html = page_text(response)
        assert '<td class="field-dataset_count">0 (+1 deleted)</td>' in html  # cats
        assert [spec.title for spec in response.context["cl"].filter_specs] == ["team", "state"]
        assert listed(browser.get(f"{ADMIN}/project/?team__id__exact={world.audio.pk}")) == ["talks"]
        assert listed(browser.get(f"{ADMIN}/project/?q=vision")) == ["cats", "dogs"]
        project_soft_delete(project=world.cats)
        assert listed(browser.get(f"{ADMIN}/project/?state=deleted")) == ["cats"]
        assert listed(browser.get(f"{ADMIN}/project/?state=active")) == ["dogs", "talks"]

    def test_the_change_page_lists_the_datasets_with_links(self, browser, world):
        html = page_text(browser.get(f"{ADMIN}/project/{world.dogs.pk}/change/"))
        assert f'href="{ADMIN}/dataset/{world.pets.pk}/change/"' in html and "pets v1" in html
        everything = f"{ADMIN}/dataset/?project__id__exact={world.dogs.pk}"
        assert f'href="{everything}"' in html
        assert listed(browser.get(everything)) == ["pets v1"]

    def test_adding_through_the_service(self, browser, world, admin_user):
        response = browser.post(f"{ADMIN}/project/add/", {"name": "birds", "team": world.vision.pk})
        assert response.status_code == 302
        assert Project.objects.get(name="birds").creator == admin_user
        response = browser.post(f"{ADMIN}/project/add/", {"name": "dogs", "team": world.vision.pk})
        assert response.context["adminform"].form.errors["name"] == [
            "An active project named 'vision/dogs' already exists."
        ]
        team_soft_delete(team=world.audio)
        response = browser.post(f"{ADMIN}/project/add/", {"name": "podcasts", "team": world.audio.pk})
        assert response.context["adminform"].form.errors["team"] == ["team audio is deleted"]
        assert not Project.objects.filter(name="podcasts").exists()
        assert "audio (deleted)" in page_text(browser.get(f"{ADMIN}/project/add/"))

    def test_renaming_and_moving(self, browser, world):
        url = f"{ADMIN}/project/{world.cats.pk}/change/"
        response = browser.post(url, posted(browser.get(url), {"name": "dogs"}))
        assert "already exists" in response.context["adminform"].form.errors["name"][0]
        response = browser.post(url, posted(browser.get(url), {"team": world.audio.pk}))
        assert response.status_code == 302
        world.cats.refresh_from_db()
        assert (world.cats.name, world.cats.team) == ("cats", world.audio)

    def test_soft_delete_and_reinstate(self, browser, world):
        response = run_action(browser, "project", "soft_delete_selected", world.dogs)
        assert "Soft-deleted 1 project(s)." in messages_of(response)
        assert Dataset.objects.get(pk=world.pets.pk).deletion_time is not None
        team_soft_delete(team=world.vision)
        response = run_action(browser, "project", "reinstate_selected", world.dogs)
        assert any("reinstate the team" in note for note in messages_of(response))
        assert Project.objects.get(pk=world.dogs.pk).deletion_time is not None
        run_action(browser, "team", "reinstate_selected", world.vision)
        response = run_action(browser, "project", "reinstate_selected", world.dogs)
        assert "Reinstated 1 project(s)." in messages_of(response)
        assert Dataset.objects.get(pk=world.pets.pk).deletion_time is None

    def test_deleting_for_good_is_refused_while_datasets_exist(self, browser, world):
        url = f"{ADMIN}/project/{world.dogs.pk}/delete/"
        assert "protected related objects" in page_text(browser.get(url))
        browser.post(url, {"post": "yes"})
        assert Project.objects.filter(pk=world.dogs.pk).exists()
        empty = ProjectFactory(name="empty", team=world.vision)
        assert browser.post(f"{ADMIN}/project/{empty.pk}/delete/", {"post": "yes"}).status_code == 302
        assert not Project.objects.filter(pk=empty.pk).exists()


# --- datasets ----------------------------------------------------------------------------------------------


class TestDatasetChangelist:
    def test_columns(self, browser, world):
        response = browser.get(f"{ADMIN}/dataset/")
        assert listed(response) == ["notes v1", "pets v1", "retired v1", "speeches v1"]
        html = page_text(response)
        assert f'<a href="{ADMIN}/project/{world.dogs.pk}/change/">vision / dogs</a>' in html
        assert '<td class="field-file_count">2</td>' in html and "CC-BY-4.0" in html

    def test_filters_by_domain_state_visibility_team_project_and_licence(self, browser, world):
        response = browser.get(f"{ADMIN}/dataset/")
        titles = [spec.title for spec in response.context["cl"].filter_specs]
        assert titles == ["domain", "state", "is public", "team", "licence"]
        html = page_text(response)
        # The datasets of each domain are counted beside it.
        assert "Image Classification (2)" in html and "Speech (1)" in html and "core (no domain) (1)" in html
        cases = {
            f"domain__id__exact={world.ic.pk}": ["pets v1", "retired v1"],
            "domain__isnull=True": ["notes v1"],
            "state=deleted": ["retired v1"],
            "is_public__exact=1": ["notes v1"],
            f"project__team__id__exact={world.audio.pk}": ["speeches v1"],
            f"project__id__exact={world.dogs.pk}": ["pets v1"],
            f"licence__id__exact={world.licence.pk}&state=active": ["notes v1", "pets v1", "speeches v1"],
            "q=audio": ["speeches v1"],  # by team
            "q=animals": ["pets v1"],  # by tags
            "q=bob": ["notes v1"],  # by creator
        }
        for query, expected in cases.items():
            assert listed(browser.get(f"{ADMIN}/dataset/?{query}")) == expected, query


class TestDatasetPage:
    def test_files_with_categories_and_download_links(self, browser, world):
        html = page_text(browser.get(f"{ADMIN}/dataset/{world.pets.pk}/change/"))
        assert "<td>dog, puppy</td>" in html and '<th scope="col">categories</th>' in html
        assert "transcription" not in html
        link = f"/v1/datasets/{world.pets.pk}/files/a.png"
        assert f'href="{link}"' in html and f'href="/v1/datasets/{world.pets.pk}/download"' in html
        assert b"".join(browser.get(link).streaming_content) == b"A"
        handle = DatasetFile.objects.get(dataset=world.pets, filename="b.png").handle
        assert handle and handle in html

    def test_a_speech_dataset_shows_its_transcriptions(self, browser, world):
        html = page_text(browser.get(f"{ADMIN}/dataset/{world.speeches.pk}/change/"))
        assert "<td>hello world</td>" in html and "categories" not in html

    def test_many_files_link_to_all_of_them(self, browser, world, monkeypatch):
        monkeypatch.setattr(tables, "ROWS_SHOWN", 1)
        html = page_text(browser.get(f"{ADMIN}/dataset/{world.pets.pk}/change/"))
        everything = f"{ADMIN}/datasetfile/?dataset__id__exact={world.pets.pk}"
        assert "The first 1 of 2 files" in html and f'href="{everything}"' in html
        assert "b.png" not in html
        assert listed(browser.get(everything)) == ["pets v1: a.png", "pets v1: b.png"]

    def test_editing_what_may_change(self, browser, world):
        other_licence = world.mit
        url = f"{ADMIN}/dataset/{world.pets.pk}/change/"
        changes = {"description": "curated", "tags": "pets", "is_public": "on", "licence": other_licence.pk}
        changes["project"] = world.cats.pk
        assert browser.post(url, posted(browser.get(url), changes)).status_code == 302
        pets = Dataset.objects.get(pk=world.pets.pk)
        assert (pets.description, pets.tags, pets.is_public, pets.licence, pets.project) == (
            "curated",
            "pets",
            True,
            other_licence,
            world.cats,
        )
        assert (pets.name, pets.version, pets.creator) == ("pets", 1, world.user)

    def test_a_name_and_version_taken_in_the_target_project_is_a_form_error(self, browser, world):
        DatasetFactory(name="pets", version=1, project=world.cats)
        url = f"{ADMIN}/dataset/{world.pets.pk}/change/"
        response = browser.post(url, posted(browser.get(url), {"project": world.cats.pk, "description": "x"}))
        assert response.status_code == 200
        assert response.context["adminform"].form.non_field_errors() == [
            "An active dataset 'pets' version 1 already exists here."
        ]
        pets = Dataset.objects.get(pk=world.pets.pk)
        assert (pets.project, pets.description) == (world.dogs, "")

    def test_a_deleted_project_or_dataset_is_refused(self, browser, world):
        project_soft_delete(project=world.cats)
        url = f"{ADMIN}/dataset/{world.pets.pk}/change/"
        response = browser.post(url, posted(browser.get(url), {"project": world.cats.pk}))
        assert response.context["adminform"].form.errors["project"] == [f"project {world.cats.pk} is deleted"]
        assert "vision / cats (deleted)" in page_text(response)
        url = f"{ADMIN}/dataset/{world.retired.pk}/change/"
        response = browser.post(url, posted(browser.get(url), {"description": "revived"}))
        assert response.status_code == 200 and response.context["adminform"].form.non_field_errors()
        assert Dataset.objects.get(pk=world.retired.pk).description == ""

    def test_adding_through_the_service(self, browser, world, admin_user):
        form = {"name": "pets", "domain": world.ic.pk, "licence": world.licence.pk, "project": world.dogs.pk}
        response = browser.post(f"{ADMIN}/dataset/add/", form)
        assert response.status_code == 302
        added = Dataset.objects.get(name="pets", version=2)  # no version: the next one there
        assert (added.creator, added.project, added.domain) == (admin_user, world.dogs, world.ic)
        response = browser.post(f"{ADMIN}/dataset/add/", {**form, "version": 1})
        assert response.context["adminform"].form.errors["version"] == [
            "An active dataset 'pets' version 1 already exists here."
        ]
        assert Dataset.objects.filter(name="pets").count() == 2

    def test_a_dataset_of_many_files_can_still_be_saved(self, browser, world):
        DatasetFile.objects.bulk_create(
            DatasetFile(dataset=world.pets, filename=f"many/{index}.png", file="x", size=1) for index in range(600)
        )
        url = f"{ADMIN}/dataset/{world.pets.pk}/change/"
        assert browser.post(url, posted(browser.get(url), {"description": "big"})).status_code == 302
        assert Dataset.objects.get(pk=world.pets.pk).description == "big"


class TestDatasetActionsAndDeletes:
    def test_soft_delete_and_reinstate(self, browser, world):
        response = run_action(browser, "dataset", "soft_delete_selected", world.pets, world.notes)
        assert "Soft-deleted 2 dataset(s)." in messages_of(response)
        assert Dataset.objects.filter(deletion_time=None).count() == 1  # speeches
        run_action(browser, "dataset", "reinstate_selected", world.pets, world.notes)
        assert Dataset.objects.filter(deletion_time=None).count() == 3

    def test_a_reinstate_clash_is_an_error_message(self, browser, world):
        DatasetFactory(name="retired", version=1, project=world.cats)
        response = run_action(browser, "dataset", "reinstate_selected", world.retired)
        assert any(note.startswith("retired v1: An active dataset") for note in messages_of(response))
        assert Dataset.objects.get(pk=world.retired.pk).deletion_time is not None

    def test_deleting_removes_the_stored_files(self, browser, world, django_capture_on_commit_callbacks):
        names = list(DatasetFile.objects.filter(dataset=world.pets).values_list("file", flat=True))
        assert names and all(default_storage.exists(name) for name in names)
        with django_capture_on_commit_callbacks(execute=True):
            response = browser.post(f"{ADMIN}/dataset/{world.pets.pk}/delete/", {"post": "yes"})
        assert response.status_code == 302
        assert not Dataset.objects.filter(pk=world.pets.pk).exists()
        assert not any(default_storage.exists(name) for name in names)

    @pytest.fixture
    def pets_in_use(self, world):
        def check(dataset):
            return ["job 7"] if dataset.pk == world.pets.pk else []

        dataset_reference_check_register(check)
        yield world.pets
        dataset_reference_check_unregister(check)

    def test_deleting_a_referenced_dataset_is_refused_with_a_message(self, browser, world, pets_in_use):
        response = browser.post(f"{ADMIN}/dataset/{pets_in_use.pk}/delete/", {"post": "yes"})
        assert response.status_code == 302 and response["Location"] == f"{ADMIN}/dataset/{pets_in_use.pk}/change/"
        assert messages_of(response) == ["pets v1 is still referenced and cannot be deleted. (referenced by job 7)"]
        assert Dataset.objects.filter(pk=pets_in_use.pk).exists()
        assert not LogEntry.objects.filter(action_flag=3).exists()

    def test_the_delete_action_deletes_what_it_may(self, browser, world, pets_in_use):
        response = run_action(browser, "dataset", "delete_selected", pets_in_use, world.notes, post="yes")
        notes = messages_of(response)
        assert "Deleted 1 dataset(s) for good." in notes
        assert any(note.startswith("pets v1: pets v1 is still referenced") for note in notes)
        assert Dataset.objects.filter(pk=pets_in_use.pk).exists() and not Dataset.objects.filter(pk=world.notes.pk)
        assert list(LogEntry.objects.filter(action_flag=3).values_list("object_repr", flat=True)) == ["notes v1"]


class TestDatasetFiles:
    def test_the_read_only_files_pages(self, browser, world):
        assert listed(browser.get(f"{ADMIN}/datasetfile/?q=s.wav")) == ["speeches v1: s.wav"]
        assert listed(browser.get(f"{ADMIN}/datasetfile/?dataset__domain__id__exact={world.sp.pk}")) == [
            "speeches v1: s.wav"
        ]
        datafile = DatasetFile.objects.get(dataset=world.pets, filename="a.png")
        html = page_text(browser.get(f"{ADMIN}/datasetfile/{datafile.pk}/change/"))
        assert "dog, puppy" in html and f'href="/v1/datasets/{world.pets.pk}/files/a.png"' in html
        assert 'name="_save"' not in html
        assert browser.get(f"{ADMIN}/datasetfile/add/").status_code == 403
        response = browser.post(f"{ADMIN}/datasetfile/{datafile.pk}/change/", {"filename": "evil.png"})
        assert response.status_code == 403
        assert browser.post(f"{ADMIN}/datasetfile/{datafile.pk}/delete/", {"post": "yes"}).status_code == 403
        assert DatasetFile.objects.get(pk=datafile.pk).filename == "a.png"


class TestDatasetsPerDomain:
    """Each domain's datasets have a page of their own in the admin index (a proxy model per domain)."""

    def test_each_domain_page_lists_only_that_domains_datasets(self, browser, world):
        index = page_text(browser.get("/admin/"))
        for title in ("Image-classification datasets", "Speech datasets", "Object-detection datasets"):
            assert title in index, title
        assert listed(browser.get(f"{ADMIN}/imageclassificationdataset/?state=all")) == ["pets v1", "retired v1"]
        assert listed(browser.get(f"{ADMIN}/speechdataset/")) == ["speeches v1"]
        assert listed(browser.get(f"{ADMIN}/objectdetectiondataset/")) == []
        page = page_text(browser.get(f"{ADMIN}/imageclassificationdataset/{world.pets.pk}/change/"))
        assert "dog, puppy" in page  # the files with their categories
        assert browser.get(f"{ADMIN}/speechdataset/{world.pets.pk}/change/").status_code == 302  # not speech

    def test_adding_on_a_domain_page_makes_a_dataset_of_that_domain(self, browser, world, admin_user):
        form = {"name": "talks-2", "licence": world.licence.pk, "project": world.talks.pk}
        response = browser.post(f"{ADMIN}/speechdataset/add/", form)
        assert response.status_code == 302, response.content[:500]
        added = Dataset.objects.get(name="talks-2")
        assert (added.domain, added.creator, added.project) == (world.sp, admin_user, world.talks)

    def test_object_detection_files_show_their_annotations(self, browser, world, admin_client):
        od = DatasetFactory(name="boxes", domain=DomainFactory(name="od"), creator=world.user, files={"c.jpg": b"C"})
        box = [{"x": 1, "y": 2, "width": 3, "height": 4, "label": "car"}]
        assert (
            admin_client.post(f"/v1/objdet/datasets/{od.pk}/annotations/c.jpg", box, format="json").status_code == 200
        )
        assert "car (1,2 3x4)" in page_text(browser.get(f"{ADMIN}/objectdetectiondataset/{od.pk}/change/"))
