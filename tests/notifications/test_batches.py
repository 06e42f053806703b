"""Issue 14 point 2: the email and webhook deliveries one call records go to the notification queue as ONE
``notifications.deliver_batch`` message; each is still retried on its own (a failed one is queued again
alone, after its backoff, and counts its attempts on its record), nothing sent is sent again, and the
single-delivery ``notifications.deliver`` of earlier versions is still run. In process, through the task
functions the notifier runs; sends to the broker are captured (``sent_tasks``)."""

from __future__ import annotations

import pytest
from django.core import mail

from jobtemplates.models import JobStatus
from notifications import delivery as delivery_module
from notifications import queueing
from notifications.delivery import delivery_attempt
from notifications.dispatch import job_transition_notify
from notifications.models import NotificationDelivery
from notifications.queueing import retry_countdown
from notifications.tasks import deliver_batch_task, deliver_notification_task
from tests.notifications.conftest import make_job

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _delivery_settings(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.NOTIFICATION_WEBHOOK_TIMEOUT_SECONDS = 2
    settings.NOTIFICATION_DELIVERY_MAX_RETRIES = 2
    settings.NOTIFICATION_RETRY_BACKOFF_SECONDS = 10
    settings.NOTIFICATION_RETRY_BACKOFF_MAX_SECONDS = 600
    settings.NOTIFICATION_RETRY_JITTER = False


@pytest.fixture
def fire(django_capture_on_commit_callbacks):
    def fire(job, *actions):
        with django_capture_on_commit_callbacks(execute=True):
            job_transition_notify(job=job, actions=actions, transition_data={})
        return list(NotificationDelivery.objects.filter(job=job).order_by("pk"))

    return fire


def job_with(templates, user, actions: dict):
    return make_job(templates["noop"], user, status=JobStatus.RUNNING, notification_override={"actions": actions})


def statuses(job) -> list[tuple[str, str, int]]:
    return list(NotificationDelivery.objects.filter(job=job).order_by("pk").values_list("kind", "status", "attempts"))


class TestOneMessagePerCall:
    def test_several_actions_at_once_go_as_one_message_on_the_notification_queue(
        self, templates, user, webhook_server, fire, sent_tasks
    ):
        job = job_with(
            templates,
            user,
            {
                "on_acquire": [{"url": f"{webhook_server.url}/acquired"}, {"message": "inline"}],
                "on_start": [{"url": f"{webhook_server.url}/started"}, {"subject": "s", "body": "b"}, {}],
            },
        )
        deliveries = fire(job, "on_acquire", "on_start")
        queued = [d.pk for d in deliveries if d.status == "pending"]
        assert len(queued) == 3
        assert sent_tasks == [("notifications.deliver_batch", {"delivery_ids": queued})]
        [options] = sent_tasks.options
        assert options["queue"] == "notifications"
        assert options["soft_time_limit"] == 3 * 60 and options["time_limit"] == 3 * 60 + 30

    def test_print_and_websocket_alone_send_nothing(self, templates, user, fire, sent_tasks):
        fire(job_with(templates, user, {"on_start": [{"message": "m"}, {}]}), "on_start")
        assert sent_tasks == []

    def test_each_call_is_its_own_message(self, templates, user, webhook_server, fire, sent_tasks):
        job = job_with(templates, user, {a: [{"url": webhook_server.url}] for a in ("on_start", "on_finish")})
        fire(job, "on_start")
        fire(job, "on_finish")
        assert [name for name, _ in sent_tasks] == ["notifications.deliver_batch"] * 2

    def test_no_queue_setting_means_the_default_queue(
        self, templates, user, webhook_server, fire, sent_tasks, settings
    ):
        settings.NOTIFICATION_QUEUE = ""
        fire(job_with(templates, user, {"on_start": [{"url": webhook_server.url}]}), "on_start")
        assert sent_tasks.options[0]["queue"] is None


class TestEachRetriedOnItsOwn:
    def test_a_failed_one_is_queued_again_alone_the_others_are_sent_once(
        self, templates, user, webhook_server, fire, sent_tasks
    ):
        webhook_server.answers["/flaky"] = [503]
        job = job_with(
            templates,
            user,
            {
                "on_start": [
                    {"url": f"{webhook_server.url}/flaky"},
                    {"url": f"{webhook_server.url}/fine"},
                    {"subject": "s", "body": "b"},
                ]
            },
        )
        flaky, fine, email = fire(job, "on_start")
        sent_tasks.clear()
        sent_tasks.options.clear()
        outcomes = deliver_batch_task(delivery_ids=[flaky.pk, fine.pk, email.pk])
        assert outcomes == {flaky.pk: "retry", fine.pk: "sent", email.pk: "sent"}
        assert statuses(job) == [("webhook", "pending", 1), ("webhook", "sent", 1), ("email", "sent", 1)]
        assert sent_tasks == [("notifications.deliver", {"delivery_id": flaky.pk})]
        assert sent_tasks.options[0]["countdown"] == 10 and sent_tasks.options[0]["queue"] == "notifications"
        # The retry: only the flaky one is attempted.
        assert deliver_notification_task(delivery_id=flaky.pk) == "sent"
        assert statuses(job) == [("webhook", "sent", 2), ("webhook", "sent", 1), ("email", "sent", 1)]
        assert [r["path"] for r in webhook_server.requests] == ["/flaky", "/fine", "/flaky"]
        assert len(mail.outbox) == 1

    def test_a_duplicate_of_the_batch_sends_nothing_more(self, templates, user, webhook_server, fire, sent_tasks):
        job = job_with(templates, user, {"on_start": [{"url": webhook_server.url}, {"subject": "s", "body": "b"}]})
        ids = [d.pk for d in fire(job, "on_start")]
        assert set(deliver_batch_task(delivery_ids=ids).values()) == {"sent"}
        assert set(deliver_batch_task(delivery_ids=ids).values()) == {"sent"}  # redelivered
        assert len(webhook_server.requests) == 1 and len(mail.outbox) == 1
        assert statuses(job) == [("webhook", "sent", 1), ("email", "sent", 1)]

    def test_the_last_attempt_is_counted_on_the_record(self, templates, user, webhook_server, fire, sent_tasks):
        webhook_server.status = 503
        [hook] = fire(job_with(templates, user, {"on_start": [{"url": webhook_server.url}]}), "on_start")
        sent_tasks.clear()
        sent_tasks.options.clear()
        assert deliver_batch_task(delivery_ids=[hook.pk]) == {hook.pk: "retry"}
        assert deliver_notification_task(delivery_id=hook.pk) == "retry"
        assert deliver_notification_task(delivery_id=hook.pk) == "failed"  # 1 + NOTIFICATION_DELIVERY_MAX_RETRIES
        assert deliver_notification_task(delivery_id=hook.pk) == "failed"  # a stray copy: nothing more
        hook.refresh_from_db()
        assert (hook.status, hook.attempts) == ("failed", 3) and "503" in hook.error
        assert [options["countdown"] for options in sent_tasks.options] == [10, 20]
        assert len(webhook_server.requests) == 3

    def test_one_that_cannot_be_queued_again_is_marked_failed(self, templates, user, webhook_server, fire, monkeypatch):
        webhook_server.status = 503
        [hook] = fire(job_with(templates, user, {"on_start": [{"url": webhook_server.url}]}), "on_start")

        def down(name, kwargs=None, **options):
            raise ConnectionError("broker down")

        monkeypatch.setattr(queueing.celery_app, "send_task", down)
        deliver_batch_task(delivery_ids=[hook.pk])
        hook.refresh_from_db()
        assert (hook.status, hook.error) == ("failed", "could not be queued again: broker down")

    def test_one_that_cannot_be_attempted_does_not_stop_the_others(
        self, templates, user, webhook_server, fire, monkeypatch
    ):
        job = job_with(
            templates, user, {"on_start": [{"url": f"{webhook_server.url}/a"}, {"url": f"{webhook_server.url}/b"}]}
        )
        first, second = fire(job, "on_start")
        real = delivery_module.delivery_attempt

        def flaky_database(*, delivery_id):
            if delivery_id == first.pk:
                raise RuntimeError("database gone for a moment")
            return real(delivery_id=delivery_id)

        monkeypatch.setattr("notifications.tasks.delivery_attempt", flaky_database)
        with pytest.raises(RuntimeError, match="gone for a moment"):
            deliver_batch_task(delivery_ids=[first.pk, second.pk])
        assert statuses(job) == [("webhook", "pending", 0), ("webhook", "sent", 1)]

    def test_two_copies_reading_together_send_once(self, templates, user, webhook_server, fire, monkeypatch):
        [hook] = fire(job_with(templates, user, {"on_start": [{"url": webhook_server.url}]}), "on_start")
        read_together = delivery_module._read(hook.pk)  # what both copies read, before either claimed
        assert delivery_attempt(delivery_id=hook.pk).outcome == "sent"
        NotificationDelivery.objects.filter(pk=hook.pk).update(status="pending")  # as if the first were sending
        monkeypatch.setattr(delivery_module, "_read", lambda delivery_id: read_together)
        assert delivery_attempt(delivery_id=hook.pk).outcome == "busy"  # its claim finds the count moved on
        assert len(webhook_server.requests) == 1


def test_the_single_delivery_message_of_earlier_versions_still_runs(templates, user, webhook_server, fire):
    [hook] = fire(job_with(templates, user, {"on_start": [{"url": webhook_server.url}]}), "on_start")
    assert deliver_notification_task.name == "notifications.deliver"
    assert deliver_notification_task.run(delivery_id=hook.pk) == "sent"
    assert len(webhook_server.requests) == 1


@pytest.mark.parametrize(("attempts", "expected"), [(1, 10), (2, 20), (3, 40), (7, 600), (30, 600)])
def test_backoff_doubles_up_to_its_cap(attempts, expected):
    assert retry_countdown(attempts) == expected


def test_jitter_waits_up_to_the_backoff(settings):
    settings.NOTIFICATION_RETRY_JITTER = True
    waits = {retry_countdown(3) for _ in range(200)}
    assert waits <= set(range(41)) and len(waits) > 5
