"""Email and webhook delivery in-process, through the same task functions the notifier runs: Django's locmem
mail backend, a recording HTTP server on 127.0.0.1; retries (each delivery on its own, counted on its
record), permanent failures, timeouts, idempotence, and a failed delivery that never changes the job."""

from __future__ import annotations

import base64
import io
import json
import time
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import call_command

from jobtemplates.models import JobStatus
from notifications.delivery import delivery_attempt
from notifications.dispatch import job_transition_notify
from notifications.models import NotificationDelivery
from notifications.tasks import deliver_batch_task, deliver_notification_task
from tests.notifications.conftest import make_job

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _locmem(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.DEFAULT_FROM_EMAIL = "jobs@service.test"
    settings.NOTIFICATION_WEBHOOK_TIMEOUT_SECONDS = 0.5


def attempt(delivery) -> str:
    """One attempt at ``delivery``: its outcome (sent, failed, retry…)."""
    return delivery_attempt(delivery_id=delivery.pk).outcome


def delivery_for(job, notification: dict, action: str = "on_finish") -> NotificationDelivery:
    job.notification_override = {"actions": {action: [notification]}}
    job.save()
    job_transition_notify(job=job, actions=(action,), transition_data={"reason": "test"})
    return NotificationDelivery.objects.get(job=job)


class TestEmail:
    def test_sent_to_the_creator_through_the_task(self, templates, user):
        job = make_job(templates["noop"], user, status=JobStatus.FINISHED, description="nightly")
        delivery = delivery_for(job, {"subject": "Job {pk} {transition}", "body": "{description} is {status}"})
        assert deliver_notification_task(delivery_id=delivery.pk) == "sent"
        [message] = mail.outbox
        assert (message.subject, message.body) == (f"Job {job.pk} finish", "nightly is finished")
        assert message.to == ["alice@example.com"] and message.from_email == "jobs@service.test"
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts, delivery.error) == ("sent", 1, "")
        assert delivery.sent_time is not None

    def test_to_cc_and_bcc(self, templates, user):
        job = make_job(templates["noop"], user, status=JobStatus.FINISHED)
        delivery = delivery_for(
            job,
            {"subject": "s", "body": "b", "to": ["ops@x.org", "dev@x.org"], "cc": "boss@x.org", "bcc": ["audit@x.org"]},
        )
        deliver_notification_task(delivery_id=delivery.pk)
        [message] = mail.outbox
        assert (message.to, message.cc, message.bcc) == (["ops@x.org", "dev@x.org"], ["boss@x.org"], ["audit@x.org"])

    def test_a_newline_in_the_subject_cannot_inject_headers(self, templates, user):
        job = make_job(
            templates["fail"],
            user,
            status=JobStatus.ERRORED,
            error_reason="boom\nBcc: evil@x.org",
            description="x\r\nCc: evil@x.org",
        )
        delivery = delivery_for(job, {"subject": "{error} {description}", "body": "{error}"}, "on_error")
        assert deliver_notification_task(delivery_id=delivery.pk) == "sent"
        [message] = mail.outbox
        assert message.subject == "boom Bcc: evil@x.org x Cc: evil@x.org"
        assert message.bcc == [] and message.cc == [] and message.to == ["alice@example.com"]

    def test_no_address_fails_at_once_without_retry(self, templates, user):
        user.email = ""
        user.save()
        job = make_job(templates["noop"], user, status=JobStatus.FINISHED)
        delivery = delivery_for(job, {"subject": "s", "body": "b"})
        assert attempt(delivery) == "failed"  # recorded failed at once: never queued, nothing to attempt
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == ("failed", 0)
        assert "no recipient" in delivery.error and mail.outbox == []

    def test_smtp_failure_retries_then_fails_and_the_job_stays(self, templates, user, settings):
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 1, 1
        settings.NOTIFICATION_DELIVERY_MAX_RETRIES = 1
        job = make_job(templates["noop"], user, status=JobStatus.FINISHED)
        delivery = delivery_for(job, {"subject": "s", "body": "b"})
        assert attempt(delivery) == "retry"
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == ("pending", 1) and "ConnectionRefused" in delivery.error
        assert attempt(delivery) == "failed"  # attempt 2 = 1 + NOTIFICATION_DELIVERY_MAX_RETRIES: the last
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts) == ("failed", 2)
        job.refresh_from_db()
        assert (job.status, job.error_reason) == (JobStatus.FINISHED, None)


class TestWebhook:
    def test_posts_the_notification_data_as_json(self, templates, user, webhook_server):
        job = make_job(templates["noop"], user, status=JobStatus.FINISHED, progress=1.0)
        delivery = delivery_for(job, {"url": f"{webhook_server.url}/hooks/job?secret=1"})
        assert deliver_notification_task(delivery_id=delivery.pk) == "sent"
        [request] = webhook_server.requests
        assert request["path"] == "/hooks/job?secret=1"
        assert request["headers"]["Content-Type"] == "application/json"
        assert request["json"] == {
            "transition": "finish",
            "description": "a job",
            "pk": job.pk,
            "progress": 1.0,
            "cancelled": False,
            "node": None,
            "error": None,
            "transition_data": {"reason": "test"},
            "template": "noop v1",
            "status": "finished",
        }

    def test_a_server_error_is_retried(self, templates, user, webhook_server):
        webhook_server.status = 503
        job = make_job(templates["noop"], user, status=JobStatus.FINISHED)
        delivery = delivery_for(job, {"url": webhook_server.url})
        assert attempt(delivery) == "retry"
        delivery.refresh_from_db()
        assert "HTTP Error 503" in delivery.error
        webhook_server.status = 200
        assert attempt(delivery) == "sent"
        delivery.refresh_from_db()
        assert (delivery.status, delivery.attempts, delivery.error) == ("sent", 2, "")
        assert len(webhook_server.requests) == 2

    @pytest.mark.parametrize("status", [400, 404, 410])
    def test_a_client_error_fails_without_retry(self, templates, user, webhook_server, status):
        webhook_server.status = status
        job = make_job(templates["noop"], user, status=JobStatus.FINISHED)
        delivery = delivery_for(job, {"url": webhook_server.url})
        assert attempt(delivery) == "failed"
        delivery.refresh_from_db()
        assert delivery.error.startswith(f"PermanentFailure: HTTP {status}") and delivery.attempts == 1

    def test_a_redirect_is_not_followed(self, templates, user, webhook_server):
        webhook_server.status = 302
        job = make_job(templates["noop"], user, status=JobStatus.FINISHED)
        delivery = delivery_for(job, {"url": webhook_server.url})
        assert attempt(delivery) == "retry"
        delivery.refresh_from_db()
        assert "302" in delivery.error and len(webhook_server.requests) == 1

    def test_a_slow_server_times_out(self, templates, user, webhook_server, settings):
        webhook_server.hold()  # answers only once released: the client's timeout (0.5 s) ends the attempt
        settings.NOTIFICATION_DELIVERY_MAX_RETRIES = 0
        job = make_job(templates["noop"], user, status=JobStatus.FINISHED)
        delivery = delivery_for(job, {"url": webhook_server.url})
        assert attempt(delivery) == "failed"
        assert webhook_server.waiting == 1  # the server had not answered when the attempt gave up
        webhook_server.release()
        delivery.refresh_from_db()
        assert "timed out" in delivery.error

    def test_nobody_listening(self, templates, user, webhook_server, settings):
        settings.NOTIFICATION_DELIVERY_MAX_RETRIES = 0
        job = make_job(templates["noop"], user, status=JobStatus.FINISHED)
        url = webhook_server.url
        webhook_server.close()
        delivery = delivery_for(job, {"url": url})
        assert attempt(delivery) == "failed"
        delivery.refresh_from_db()
        assert "Connection refused" in delivery.error or "ConnectionRefused" in delivery.error


def documented_verify():
    """The verification example of docs/webhooks.md, run as a receiver would run it."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "webhooks.md").read_text()
    code = text.split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    exec(code, namespace)  # noqa: S102 - our own documentation's example
    return namespace["verify"]


class TestSignatures:
    def test_every_webhook_is_signed_with_the_deployment_secret(self, templates, user, webhook_server, settings):
        settings.NOTIFICATION_WEBHOOK_SECRET = "deployment-secret-for-tests"
        job = make_job(templates["noop"], user, status=JobStatus.FINISHED)
        delivery = delivery_for(job, {"url": webhook_server.url})
        assert deliver_notification_task(delivery_id=delivery.pk) == "sent"
        [request] = webhook_server.requests
        headers = {key.lower(): value for key, value in request["headers"].items()}
        assert headers["webhook-id"] == f"delivery-{delivery.pk}"
        assert abs(int(headers["webhook-timestamp"]) - time.time()) < 60
        verify = documented_verify()
        assert verify(headers, request["body"], b"deployment-secret-for-tests")
        # Anything else fails: another key, a changed body, a replay.
        assert not verify(headers, request["body"], b"another-secret")
        assert not verify(headers, request["body"] + b" ", b"deployment-secret-for-tests")
        stale = {**headers, "webhook-timestamp": str(int(time.time()) - 3600)}
        assert not verify(stale, request["body"], b"deployment-secret-for-tests")

    def test_a_notification_s_own_secret_wins_and_is_never_answered(self, templates, user, webhook_server, client):
        own = "whsec_" + base64.b64encode(b"a-key-of-this-webhook-only").decode()
        job = make_job(templates["noop"], user, status=JobStatus.FINISHED)
        delivery = delivery_for(job, {"url": webhook_server.url, "secret": own})
        assert deliver_notification_task(delivery_id=delivery.pk) == "sent"
        [request] = webhook_server.requests
        headers = {key.lower(): value for key, value in request["headers"].items()}
        assert documented_verify()(headers, request["body"], b"a-key-of-this-webhook-only")
        assert own.encode() not in request["body"]
        # Write-only: the job, its notification records and the delivery's content never carry it.
        client.force_login(user)
        answers = [client.get(f"/v1/jobs/{job.pk}").content, client.get(f"/v1/jobs/{job.pk}/notifications").content]
        assert all(answer and own.encode() not in answer for answer in answers)
        assert client.get(f"/v1/jobs/{job.pk}").json()["notification_override"]["actions"]["on_finish"] == [
            {"url": webhook_server.url, "secret": "********"}
        ]
        assert own not in json.dumps(NotificationDelivery.objects.get(pk=delivery.pk).content)

    def test_without_any_secret_the_key_derives_from_secret_key_and_the_command_prints_it(
        self, templates, user, webhook_server, settings
    ):
        settings.NOTIFICATION_WEBHOOK_SECRET = ""
        job = make_job(templates["noop"], user, status=JobStatus.FINISHED)
        deliver_notification_task(delivery_id=delivery_for(job, {"url": webhook_server.url}).pk)
        [request] = webhook_server.requests
        headers = {key.lower(): value for key, value in request["headers"].items()}
        printed = io.StringIO()
        call_command("webhook_secret", stdout=printed, stderr=io.StringIO())
        assert documented_verify()(headers, request["body"], printed.getvalue().strip().encode())
        settings.SECRET_KEY = "another-deployment-" + "x" * 40
        other = io.StringIO()
        call_command("webhook_secret", stdout=other, stderr=io.StringIO())
        assert other.getvalue() != printed.getvalue()


class TestIdempotence:
    def test_a_duplicate_message_sends_nothing_more(self, templates, user, webhook_server):
        job = make_job(templates["noop"], user, status=JobStatus.FINISHED)
        delivery = delivery_for(job, {"url": webhook_server.url})
        assert deliver_notification_task(delivery_id=delivery.pk) == "sent"
        assert deliver_notification_task(delivery_id=delivery.pk) == "sent"
        assert len(webhook_server.requests) == 1

    def test_a_deleted_delivery_is_gone(self, templates, user):
        assert delivery_attempt(delivery_id=10**9).outcome == "gone"
        assert deliver_batch_task(delivery_ids=[10**9]) == {10**9: "gone"}

    def test_inline_kinds_are_not_sent_again(self, templates, user):
        job = make_job(templates["noop"], user, status=JobStatus.FINISHED)
        delivery = delivery_for(job, {"message": "hi"})
        assert attempt(delivery) == "sent"
        delivery.refresh_from_db()
        assert delivery.attempts == 1


class TestWebhookTargets:
    """The SSRF guard: internal addresses are refused unless their host is allowed."""

    @pytest.mark.parametrize(
        "url",
        [
            "http://127.0.0.1:9/hook",
            "http://localhost/hook",
            "http://10.1.2.3/x",
            "http://192.168.0.1/",
            "http://169.254.169.254/latest/meta-data/",
            "http://[::1]/hook",
            "http://0.0.0.0/",
        ],
    )
    def test_internal_addresses_are_refused(self, settings, url):
        from notifications.senders import PermanentFailure, check_webhook_target

        settings.NOTIFICATION_WEBHOOK_ALLOWED_HOSTS = []
        settings.NOTIFICATION_WEBHOOK_ALLOW_PRIVATE = False
        with pytest.raises(PermanentFailure, match="internal address"):
            check_webhook_target(url)

    def test_listed_hosts_and_the_switch_allow_them(self, settings):
        from notifications.senders import check_webhook_target

        settings.NOTIFICATION_WEBHOOK_ALLOWED_HOSTS = ["127.0.0.1"]
        check_webhook_target("http://127.0.0.1:8000/hook")
        settings.NOTIFICATION_WEBHOOK_ALLOWED_HOSTS = []
        settings.NOTIFICATION_WEBHOOK_ALLOW_PRIVATE = True
        check_webhook_target("http://10.0.0.5/hook")

    def test_a_global_address_is_allowed(self, settings):
        from notifications.senders import check_webhook_target

        settings.NOTIFICATION_WEBHOOK_ALLOWED_HOSTS = []
        check_webhook_target("http://93.184.216.34/hook")  # a literal public address: no DNS needed
