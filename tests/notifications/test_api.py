"""HTTP: notification objects checked at create-job (422 with every path), ``GET /v1/jobs/{pk}/notifications``
(visible as the job is, oldest first, one query for the list), and the read-only admin."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from jobtemplates.models import Job, JobStatus
from notifications.dispatch import job_transition_notify
from notifications.models import NotificationDelivery
from tests.conftest import bearer_client
from tests.factories import ProjectFactory
from tests.notifications.conftest import make_job

pytestmark = pytest.mark.django_db
TEMPLATES = "/v1/job-templates"


def create_job(client, template, **body):
    return client.post(f"{TEMPLATES}/{template.pk}/create-job", {"input_values": {}, **body}, format="json")


def problems(response) -> list[tuple[str, str]]:
    assert response.status_code == 422, response.content
    return [(e["path"], e["code"]) for e in response.json()["errors"]]


class TestCreateJob:
    def test_valid_notifications_are_stored_as_given(self, client, templates):
        override = {
            "keep_default": True,
            "actions": {
                "on_finish": [{"message": "done {pk}"}, {"url": "https://hooks.example/x"}, {}],
                "on_error": [{"subject": "s", "body": "b", "to": "ops@x.org", "suppress_for_parent": False}],
            },
        }
        response = create_job(client, templates["noop"], notification_override=override)
        assert response.status_code == 200, response.content
        assert Job.objects.get(pk=response.json()["pk"]).notification_override == override

    def test_a_notification_of_no_kind_is_a_422_with_its_path(self, client, templates):
        response = create_job(
            client,
            templates["noop"],
            notification_override={
                "actions": {
                    "on_finish": [{"message": "ok"}, {"colour": "red"}],
                    "on_start": [{"subject": "s"}, {"url": "javascript:alert(1)"}, "text"],
                    "on_lunch": [{}],
                }
            },
        )
        assert problems(response) == [
            ("notification_override.actions.on_finish[1]", "unknown_notification_kind"),
            ("notification_override.actions.on_start[0].body", "required"),
            ("notification_override.actions.on_start[1].url", "invalid_value"),
            ("notification_override.actions.on_start[2]", "wrong_type"),
            ("notification_override.actions.on_lunch", "unknown_action"),
        ]
        assert not Job.objects.exists()

    def test_child_overrides_are_checked_with_their_paths(self, client, templates):
        response = create_job(
            client,
            templates["meta"],
            child_notification_overrides={
                "first": {"actions": {"on_error": [{"to": "x@y.org"}]}},
                "third": {"actions": {}},
            },
        )
        assert problems(response) == [
            ("child_notification_overrides.first.actions.on_error[0].body", "required"),
            ("child_notification_overrides.first.actions.on_error[0].subject", "required"),
            ("child_notification_overrides.third", "unknown_child"),
        ]

    def test_child_overrides_only_on_meta_templates(self, client, templates):
        response = create_job(client, templates["noop"], child_notification_overrides={"x": {}})
        assert problems(response) == [("child_notification_overrides", "not_meta")]


@pytest.fixture
def notified_job(templates, user, other_user):
    # A job in a project of alice's and bob's team: bob sees it.
    job = make_job(
        templates["noop"],
        user,
        project=ProjectFactory(members={user: "W", other_user: "R"}),
        status=JobStatus.FINISHED,
        notification_override={"keep_default": True, "actions": {"on_finish": [{}, {"url": "http://127.0.0.1:9/x"}]}},
    )
    job_transition_notify(job=job, actions=("on_finish",), transition_data={})
    return job


class TestRoute:
    def test_the_jobs_deliveries_oldest_first(self, client, notified_job):
        response = client.get(f"/v1/jobs/{notified_job.pk}/notifications")
        assert response.status_code == 200
        body = response.json()
        assert [(d["kind"], d["status"]) for d in body] == [
            ("print", "sent"),
            ("websocket", "sent"),
            ("webhook", "pending"),
        ]
        first = body[0]
        assert list(first) == [
            "pk",
            "job",
            "action",
            "transition",
            "kind",
            "notification",
            "content",
            "status",
            "attempts",
            "error",
            "created_time",
            "sent_time",
        ]
        assert (first["job"], first["action"], first["transition"]) == (notified_job.pk, "on_finish", "finish")
        assert first["notification"] == {"message": "Job #{pk} finished"}
        assert first["content"] == {"message": f"Job #{notified_job.pk} finished"}
        assert client.get(f"/v1/jobs/{notified_job.pk}/notifications/").status_code == 200

    def test_for_the_creator_and_admins_within_the_jobs_visibility(
        self, notified_job, other_user, admin_user, anon_client, templates
    ):
        assert bearer_client(admin_user).get(f"/v1/jobs/{notified_job.pk}/notifications").status_code == 200
        assert bearer_client(notified_job.creator).get(f"/v1/jobs/{notified_job.pk}/notifications").status_code == 200
        # bob sees the job (his team's project's) but not where it notifies: addresses, webhook URLs
        assert bearer_client(other_user).get(f"/v1/jobs/{notified_job.pk}").status_code == 200
        assert bearer_client(other_user).get(f"/v1/jobs/{notified_job.pk}/notifications").status_code == 403
        hidden = make_job(templates["hidden"], admin_user)
        assert bearer_client(other_user).get(f"/v1/jobs/{hidden.pk}/notifications").status_code == 404
        assert bearer_client(other_user).get(f"/v1/jobs/{hidden.pk}").status_code == 404
        assert anon_client.get(f"/v1/jobs/{notified_job.pk}/notifications").status_code == 401
        assert bearer_client(other_user).get("/v1/jobs/999999/notifications").status_code == 404

    def test_queries_do_not_grow_with_deliveries(self, client, notified_job):
        def count() -> int:
            with CaptureQueriesContext(connection) as queries:
                assert client.get(f"/v1/jobs/{notified_job.pk}/notifications").status_code == 200
            return len(queries)

        few = count()
        for _ in range(10):
            job_transition_notify(job=notified_job, actions=("on_finish",), transition_data={})
        assert NotificationDelivery.objects.filter(job=notified_job).count() == 33
        assert count() == few


class TestAdmin:
    @pytest.fixture
    def browser(self, admin_user) -> Client:
        client = Client()
        client.force_login(admin_user)
        return client

    def test_list_and_filters(self, browser, notified_job):
        url = "/admin/notifications/notificationdelivery/"
        response = browser.get(url)
        assert response.status_code == 200
        assert [spec.title for spec in response.context["cl"].filter_specs] == ["kind", "status", "action"]
        assert len(response.context["cl"].result_list) == 3
        assert len(browser.get(url, {"kind__exact": "webhook"}).context["cl"].result_list) == 1
        assert len(browser.get(url, {"status__exact": "sent"}).context["cl"].result_list) == 2
        assert len(browser.get(url, {"q": str(notified_job.pk)}).context["cl"].result_list) == 3

    def test_read_only(self, browser, notified_job):
        delivery = NotificationDelivery.objects.first()
        base = "/admin/notifications/notificationdelivery"
        assert browser.get(f"{base}/add/").status_code == 403
        page = browser.get(f"{base}/{delivery.pk}/change/")
        assert page.status_code == 200 and b'name="_save"' not in page.content
        browser.post(f"{base}/{delivery.pk}/change/", {"status": "failed"})
        assert browser.post(f"{base}/{delivery.pk}/delete/", {"post": "yes"}).status_code == 403
        delivery.refresh_from_db()
        assert delivery.status == "sent"
