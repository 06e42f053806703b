"""``/v1/nodes`` and the ``Node-Id`` header through the HTTP layer (Django's test client, a real database):
registration and its permission, shapes, who sees and changes which node, ping, removal, the header's
400/403s, and a node list in constant queries. The node job actions are in test_nodes_jobs.py, the
protocol end to end against a live server in test_nodes_protocol.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from contracts.models import Hardware
from contracts.services.catalogue_seed import catalogue_seed
from runners.models import Node
from tests.factories import JobFactory, UserFactory
from tests.runners.launcher import client_of, import_dogs_train, make_node, node_user

pytestmark = pytest.mark.django_db

NODES = "/v1/nodes"
NODE_KEYS = [
    "pk",
    "ip",
    "index",
    "driver_version",
    "hardware_generation",
    "gpu_mem",
    "cpu_mem",
    "last_seen",
    "current_job",
    "owner",
    "alive",
]
REGISTRATION = {
    "ip": "192.0.2.2",
    "index": 0,
    "driver_version": None,
    "hardware_generation": None,
    "gpu_mem": None,
    "cpu_mem": 25275990016,
}


@pytest.fixture
def launcher_user(db):
    return node_user("launcher")


class TestRegistration:
    def test_a_node_user_registers_a_node_as_ufdl_answers(self, launcher_user):
        client = client_of(launcher_user)
        spec = {
            "expressions": [
                {
                    "sub_expressions": [
                        {"field": "ip", "value": "192.0.2.2", "type": "exact"},
                        {"field": "index", "value": 0, "type": "exact"},
                    ],
                    "type": "and",
                }
            ]
        }
        assert client.post(f"{NODES}/list", spec, format="json").json() == []
        response = client.post(f"{NODES}/create", REGISTRATION, format="json")
        assert response.status_code == 201, response.content
        node = response.json()
        assert list(node) == NODE_KEYS
        assert {key: node[key] for key in REGISTRATION} == REGISTRATION
        assert (node["current_job"], node["owner"], node["alive"]) == (None, launcher_user.pk, True)
        assert node["last_seen"] is not None  # registering is a sign of life (UFDL answered null)
        assert client.post(f"{NODES}/list", spec, format="json").json() == [node]
        # POST /v1/nodes registers too; the same ip and index again is a 409.
        again = client.post(NODES, REGISTRATION, format="json")
        assert (again.status_code, again.json()["code"]) == (409, "duplicate")
        assert client.post(NODES, {**REGISTRATION, "index": 1}, format="json").status_code == 201

    def test_registering_needs_the_node_permission_or_admin(self, user, admin_user):
        refused = client_of(user).post(f"{NODES}/create", REGISTRATION, format="json")
        assert (refused.status_code, refused.json()["code"]) == (403, "node_permission_required")
        assert not Node.objects.exists()
        assert client_of(admin_user).post(f"{NODES}/create", REGISTRATION, format="json").status_code == 201
        group_member = UserFactory(username="grouped")
        group = group_member.groups.create(name="launchers")
        group.permissions.add(Permission.objects.get(codename="act_as_node"))
        assert client_of(group_member).post(NODES, REGISTRATION, format="json").status_code == 201

    def test_the_same_address_may_be_registered_by_two_users(self, launcher_user):
        other = node_user("launcher-2")
        assert client_of(launcher_user).post(NODES, REGISTRATION, format="json").status_code == 201
        assert client_of(other).post(NODES, REGISTRATION, format="json").status_code == 201

    def test_every_problem_of_a_body_at_once(self, launcher_user):
        body = {"ip": "", "index": -1, "hardware_generation": "Pascal", "gpu_mem": "lots", "cpu_mem": -5}
        response = client_of(launcher_user).post(NODES, body, format="json")
        assert response.status_code == 400
        assert sorted(problem["path"] for problem in response.json()["errors"]) == [
            "cpu_mem",
            "gpu_mem",
            "hardware_generation",
            "index",
            "ip",
        ]

    def test_a_hardware_generation_is_a_hardware_pk(self, launcher_user):
        catalogue_seed()
        pascal = Hardware.objects.get(generation="Pascal")
        client = client_of(launcher_user)
        created = client.post(NODES, {**REGISTRATION, "hardware_generation": pascal.pk}, format="json")
        assert created.json()["hardware_generation"] == pascal.pk
        unknown = client.post(NODES, {**REGISTRATION, "index": 1, "hardware_generation": 10**6}, format="json")
        assert unknown.status_code == 422
        assert [(p["path"], p["code"]) for p in unknown.json()["errors"]] == [("hardware_generation", "does_not_exist")]


class TestWhoSeesAndChanges:
    def test_users_see_their_own_nodes_admins_all(self, launcher_user, admin_user):
        mine = make_node(launcher_user)
        theirs = make_node(node_user("launcher-2"), ip="192.0.2.9")
        assert [n["pk"] for n in client_of(launcher_user).get(NODES).json()["results"]] == [mine.pk]
        assert [n["pk"] for n in client_of(admin_user).post(f"{NODES}/list").json()] == [mine.pk, theirs.pk]
        assert client_of(launcher_user).get(f"{NODES}/{theirs.pk}").status_code == 404
        assert client_of(launcher_user).patch(f"{NODES}/{theirs.pk}", {"ip": "x"}, format="json").status_code == 404
        assert client_of(launcher_user).delete(f"{NODES}/{theirs.pk}").status_code == 404

    def test_the_launcher_s_patch_updates_its_node(self, launcher_user, admin_user):
        node = make_node(launcher_user, cpu_mem=1)
        client = client_of(launcher_user, node)  # the launcher sends Node-Id with its PATCH
        answer = client.patch(f"{NODES}/{node.pk}", {**REGISTRATION, "index": 0, "cpu_mem": 2}, format="json")
        assert answer.status_code == 200 and answer.json()["cpu_mem"] == 2
        assert client_of(admin_user).patch(f"{NODES}/{node.pk}", {"gpu_mem": 8}, format="json").json()["gpu_mem"] == 8
        make_node(launcher_user, index=1)
        clash = client.patch(f"{NODES}/{node.pk}", {"index": 1}, format="json")
        assert (clash.status_code, clash.json()["code"]) == (409, "duplicate")

    def test_current_job_is_the_job_it_holds(self, launcher_user, admin_user):
        catalogue_seed()
        template = import_dogs_train(admin_user)
        node = make_node(launcher_user)
        JobFactory(template=template, node=node, finished=True)
        held = JobFactory(template=template, node=node, status="running")
        client = client_of(launcher_user)
        assert client.get(f"{NODES}/{node.pk}").json()["current_job"] == held.pk
        removal = client.delete(f"{NODES}/{node.pk}")
        assert (removal.status_code, removal.json()["code"], removal.json()["job"]) == (409, "node_busy", held.pk)
        held.status = "finished"
        held.save()
        assert client.get(f"{NODES}/{node.pk}").json()["current_job"] is None
        assert client.delete(f"{NODES}/{node.pk}").status_code == 204
        held.refresh_from_db()
        assert held.node_id is None

    def test_a_node_list_answers_in_constant_queries(self, launcher_user, admin_user):
        catalogue_seed()
        template = import_dogs_train(admin_user)

        def count(nodes: int) -> int:
            Node.objects.all().delete()
            for index in range(nodes):
                JobFactory(template=template, node=make_node(launcher_user, index=index), status="running")
            with CaptureQueriesContext(connection) as captured:
                answer = client_of(launcher_user).post(f"{NODES}/list")
            assert len(answer.json()) == nodes and all(n["current_job"] for n in answer.json())
            return len(captured)

        assert count(1) == count(10)


class TestPing:
    def test_ping_answers_an_empty_body_and_marks_the_node_seen(self, launcher_user):
        node = make_node(launcher_user)
        Node.objects.filter(pk=node.pk).update(last_seen=timezone.now() - timedelta(hours=1))
        response = client_of(launcher_user, node).get(f"{NODES}/ping")
        assert (response.status_code, response.content) == (200, b"")
        node.refresh_from_db()
        assert timezone.now() - node.last_seen < timedelta(seconds=30)
        assert client_of(launcher_user).get(f"{NODES}/ping").status_code == 200  # without Node-Id too

    def test_marking_seen_is_throttled(self, launcher_user):
        node = make_node(launcher_user)
        seen = timezone.now() - timedelta(seconds=settings.NODE_TOUCH_SECONDS / 2)
        Node.objects.filter(pk=node.pk).update(last_seen=seen)
        with CaptureQueriesContext(connection) as captured:
            client_of(launcher_user, node).get(f"{NODES}/ping")
        node.refresh_from_db()
        assert node.last_seen == seen
        assert not [q for q in captured.captured_queries if q["sql"].startswith("UPDATE")]


class TestNodeIdHeader:
    @pytest.mark.parametrize("raw", ["abc", "0", "-1", "1.5", "", " ", "1e3", "9" * 30])
    def test_a_malformed_node_id_is_a_400_naming_the_header(self, launcher_user, raw):
        response = client_of(launcher_user).get(f"{NODES}/ping", HTTP_NODE_ID=raw)
        assert response.status_code == 400, response.content
        assert [p["path"] for p in response.json()["errors"]] == ["headers.Node-Id"]
        assert client_of(launcher_user).post("/v1/jobs/list", HTTP_NODE_ID=raw).status_code == 400

    def test_another_user_s_node_and_a_missing_one_are_the_same_403(self, launcher_user):
        theirs = make_node(node_user("launcher-2"))
        other = client_of(launcher_user).get(f"{NODES}/ping", HTTP_NODE_ID=str(theirs.pk))
        missing = client_of(launcher_user).get(f"{NODES}/ping", HTTP_NODE_ID=str(theirs.pk + 1000))
        assert (other.status_code, other.json()["code"]) == (403, "node_not_yours")
        assert (missing.status_code, missing.json()["code"]) == (403, "node_not_yours")
        assert other.json()["detail"].replace(str(theirs.pk), "N") == missing.json()["detail"].replace(
            str(theirs.pk + 1000), "N"
        )
        jobs = client_of(launcher_user).post("/v1/jobs/list", HTTP_NODE_ID=str(theirs.pk))
        assert (jobs.status_code, jobs.json()["code"]) == (403, "node_not_yours")

    def test_an_owner_who_lost_the_permission_may_no_longer_act_as_its_node(self, launcher_user):
        node = make_node(launcher_user)
        launcher_user.user_permissions.clear()
        response = client_of(launcher_user, node).post("/v1/jobs/list")
        assert (response.status_code, response.json()["code"]) == (403, "node_permission_required")
        assert client_of(launcher_user).post("/v1/jobs/list").status_code == 200  # as a plain user: fine

    def test_an_inactive_owner_is_refused(self, launcher_user):
        node = make_node(launcher_user)
        client = client_of(launcher_user, node)
        launcher_user.is_active = False
        launcher_user.save()
        assert client.get(f"{NODES}/ping").status_code in (401, 403)

    def test_anonymous_requests_are_refused_by_authentication(self, launcher_user):
        node = make_node(launcher_user)
        response = APIClient().get(f"{NODES}/ping", HTTP_NODE_ID=str(node.pk))
        assert response.status_code == 401
