"""notifications.dispatch: which deliveries a transition records, how print and websocket go out at once,
email and webhook to the notifier after commit (one ``notifications.deliver_batch`` message per call), and
that nothing here changes the job or raises."""

from __future__ import annotations

import json
import logging

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jobtemplates.models import JobStatus
from jobtemplates.services.jobs import job_create
from jobtemplates.services.jobs.transitions import job_transition
from notifications import dispatch, queueing
from notifications.dispatch import job_transition_notify
from notifications.models import NotificationDelivery
from tests.notifications.conftest import import_meta, make_job

pytestmark = pytest.mark.django_db


def deliveries(job) -> list[tuple[str, str, str]]:
    return list(NotificationDelivery.objects.filter(job=job).order_by("pk").values_list("action", "kind", "status"))


def notify(job, *actions, **transition_data):
    job_transition_notify(job=job, actions=actions, transition_data=transition_data)


class TestDefaults:
    def test_start_prints_and_emails_the_creator(
        self, templates, user, sent_tasks, caplog, django_capture_on_commit_callbacks
    ):
        job = make_job(templates["noop"], user, status=JobStatus.RUNNING, description="first try")
        with caplog.at_level(logging.INFO, logger="notifications.print"):
            with django_capture_on_commit_callbacks(execute=True):
                notify(job, "on_acquire", "on_start", worker="w1", attempt=1)
        assert deliveries(job) == [("on_start", "print", "sent"), ("on_start", "email", "pending")]
        assert f"Job #{job.pk} started" in caplog.messages
        email = NotificationDelivery.objects.get(job=job, kind="email")
        assert email.content["to"] == ["alice@example.com"]
        assert email.content["subject"] == f"Job #{job.pk} started"
        assert "first try" in email.content["body"] and "noop v1" in email.content["body"]
        assert email.notification == {"subject": "Job #{pk} started", "body": email.notification["body"]}
        assert sent_tasks == [("notifications.deliver_batch", {"delivery_ids": [email.pk]})]
        assert sent_tasks.options[0]["queue"] == "notifications"

    def test_finish_and_error_print(self, templates, user):
        job = make_job(templates["fail"], user, status=JobStatus.ERRORED, error_reason="RuntimeError: boom")
        notify(job, "on_error")
        record = NotificationDelivery.objects.get(job=job)
        assert (record.kind, record.status, record.attempts) == ("print", "sent", 1)
        assert record.content == {"message": f"Job #{job.pk} finished with error:\nRuntimeError: boom"}
        assert record.sent_time is not None

    def test_transitions_without_notifications_record_nothing(self, templates, user):
        job = make_job(templates["noop"], user, status=JobStatus.RUNNING)
        notify(job, "on_progress", progress=0.5)
        notify(job, "on_cancel", "on_abort", "on_reset", "on_release")
        assert deliveries(job) == []

    def test_defaults_come_from_settings(self, templates, user, settings):
        settings.NOTIFICATION_DEFAULTS = json.dumps({"workable": {"on_finish": [{}]}})
        job = make_job(templates["noop"], user, status=JobStatus.FINISHED)
        notify(job, "on_start", "on_finish")
        assert deliveries(job) == [("on_finish", "websocket", "sent")]
        # A kind the setting leaves out keeps UFDL's defaults.
        parent = make_job(templates["meta"], user)
        notify(parent, "on_finish")
        assert deliveries(parent) == [("on_finish", "print", "sent")]


class TestOverrides:
    def test_an_override_replaces_and_sends_once(
        self, templates, user, webhook_server, django_capture_on_commit_callbacks, sent_tasks
    ):
        job = make_job(
            templates["noop"],
            user,
            status=JobStatus.FINISHED,
            notification_override={
                "keep_default": True,
                "actions": {
                    "on_finish": [
                        {"message": "Job #{pk} finished"},
                        {"url": f"{webhook_server.url}/done"},
                        {"url": f"{webhook_server.url}/done", "suppress_for_parent": False},
                    ]
                },
            },
        )
        with django_capture_on_commit_callbacks(execute=True):
            notify(job, "on_finish")
        assert deliveries(job) == [("on_finish", "print", "sent"), ("on_finish", "webhook", "pending")]
        webhook = NotificationDelivery.objects.get(job=job, kind="webhook")
        assert webhook.content["url"] == f"{webhook_server.url}/done"
        assert webhook.content["payload"]["pk"] == job.pk and webhook.content["payload"]["transition"] == "finish"
        assert len(sent_tasks) == 1

    def test_websocket_data(self, templates, user):
        job = make_job(
            templates["noop"],
            user,
            status=JobStatus.RUNNING,
            progress=0.25,
            notification_override={"actions": {"on_progress": [{}]}},
        )
        notify(job, "on_progress", progress=0.25, step=3)
        record = NotificationDelivery.objects.get(job=job)
        assert record.content == {
            "transition": "progress",
            "description": "a job",
            "pk": job.pk,
            "progress": 0.25,
            "cancelled": False,
            "node": None,
            "error": None,
            "transition_data": {"progress": 0.25, "step": 3},
            "template": "noop v1",
            "status": "running",
        }


class TestChildren:
    def test_a_childs_defaults_are_suppressed(self, templates, user):
        parent = make_job(templates["meta"], user, status=JobStatus.RUNNING)
        child = make_job(templates["noop"], user, parent=parent, child_name="first", status=JobStatus.RUNNING)
        notify(child, "on_start")
        notify(child, "on_finish")
        assert deliveries(child) == []

    def test_an_override_the_parent_gave_the_child_fires(self, templates, user):
        parent = make_job(templates["meta"], user, status=JobStatus.RUNNING)
        child = make_job(
            templates["noop"],
            user,
            parent=parent,
            child_name="first",
            status=JobStatus.ERRORED,
            error_reason="boom",
            notification_override={
                "keep_default": True,
                "actions": {
                    "on_error": [
                        {"message": "first failed: {error}"},
                        {"message": "never", "suppress_for_parent": True},
                    ]
                },
            },
        )
        notify(child, "on_error")
        assert list(NotificationDelivery.objects.filter(job=child).values_list("content", flat=True)) == [
            {"message": "first failed: boom"}
        ]

    def test_child_overrides_reach_descendants_by_path(self, templates, user, admin_user):
        outer = import_meta(admin_user, "outer", {"inner": {"name": "two_noops"}, "solo": {"name": "noop"}}, [])
        parent = job_create(
            template=outer,
            creator=user,
            body={
                "input_values": {},
                "child_notification_overrides": {
                    "inner:first": {"actions": {"on_finish": [{"message": "grandchild {pk} done"}]}},
                    "solo": {"keep_default": True, "actions": {"on_finish": [{}]}},
                },
            },
        )
        inner = parent.children.get(child_name="inner")
        grandchild, sibling = inner.children.get(child_name="first"), inner.children.get(child_name="second")
        solo = parent.children.get(child_name="solo")
        for job in (grandchild, sibling, solo, inner):
            job.status = JobStatus.FINISHED
            notify(job, "on_finish")
        assert [d.content for d in NotificationDelivery.objects.filter(job=grandchild)] == [
            {"message": f"grandchild {grandchild.pk} done"}
        ]
        assert deliveries(solo) == [("on_finish", "websocket", "sent")]  # its defaults stay quiet
        assert deliveries(sibling) == deliveries(inner) == []


class TestRobustness:
    def test_a_broken_override_is_logged_not_raised(self, templates, user, caplog):
        job = make_job(templates["noop"], user, notification_override={"actions": "not an object"})
        notify(job, "on_finish")  # parse problems leave no override: the defaults apply
        assert deliveries(job) == [("on_finish", "print", "sent")]

    def test_recording_failure_is_logged_and_the_transition_stands(
        self, templates, user, monkeypatch, caplog, django_capture_on_commit_callbacks
    ):
        def broken(**kwargs):
            raise RuntimeError("database on fire")

        monkeypatch.setattr(dispatch, "deliveries_create", broken)
        job = make_job(templates["noop"], user, status=JobStatus.RUNNING)
        with django_capture_on_commit_callbacks(execute=True):
            job_transition(job_id=job.pk, to=JobStatus.FINISHED, actions=("on_finish",))
        job.refresh_from_db()
        assert job.status == JobStatus.FINISHED
        assert "could not be recorded" in caplog.text

    def test_a_broker_failure_marks_the_delivery_failed(
        self, templates, user, monkeypatch, django_capture_on_commit_callbacks
    ):
        def down(name, kwargs, **options):
            raise ConnectionError("broker down")

        monkeypatch.setattr(queueing.celery_app, "send_task", down)
        job = make_job(templates["noop"], user, status=JobStatus.RUNNING)
        with django_capture_on_commit_callbacks(execute=True):
            notify(job, "on_start")
        email = NotificationDelivery.objects.get(job=job, kind="email")
        assert email.status == "failed" and email.error == "could not be queued: broker down"
        job.refresh_from_db()
        assert job.status == JobStatus.RUNNING

    def test_tasks_are_sent_only_after_commit(self, templates, user, sent_tasks, django_capture_on_commit_callbacks):
        job = make_job(templates["noop"], user, status=JobStatus.RUNNING)
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            notify(job, "on_start")
        assert sent_tasks == [] and len(callbacks) == 1

    def test_one_insert_for_all_of_a_transitions_deliveries(self, templates, user):
        job = make_job(
            templates["noop"],
            user,
            status=JobStatus.RUNNING,
            notification_override={"actions": {"on_start": [{"message": str(i)} for i in range(20)] + [{}]}},
        )
        job.refresh_from_db()  # its own fields only: the template is not loaded
        with CaptureQueriesContext(connection) as queries:
            notify(job, "on_acquire", "on_start")
        # Once per template and process, its kind and label are read; then only the INSERT.
        assert [q["sql"].split()[0] for q in queries.captured_queries] == ["SELECT", "INSERT"]
        assert NotificationDelivery.objects.filter(job=job).count() == 21
        with CaptureQueriesContext(connection) as queries:
            notify(job, "on_finish", "on_start")
        assert [q["sql"].split()[0] for q in queries.captured_queries] == ["INSERT"]
