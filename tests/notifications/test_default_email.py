"""Issue 14 point 2: the defaults' email (UFDL's "Job #{pk} started" to the creator) is left out — not
recorded, nothing queued — where no email is configured (NOTIFICATION_DEFAULT_EMAIL "auto" with the
console or dummy backend, or "false") or its creator has no address; a job's own override's emails go
whatever the defaults say."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from jobtemplates.models import JobStatus
from notifications.defaults import default_email_enabled
from notifications.dispatch import job_transition_notify
from notifications.models import NotificationDelivery
from tests.factories import UserFactory
from tests.notifications.conftest import make_job

pytestmark = pytest.mark.django_db

CONSOLE = "django.core.mail.backends.console.EmailBackend"
DUMMY = "django.core.mail.backends.dummy.EmailBackend"
SMTP = "django.core.mail.backends.smtp.EmailBackend"
LOCMEM = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def start(django_capture_on_commit_callbacks):
    """Fire ``job``'s start (committed: its tasks are sent); its deliveries as ``(kind, status)``."""

    def fire(job) -> list[tuple[str, str]]:
        with django_capture_on_commit_callbacks(execute=True):
            job_transition_notify(job=job, actions=("on_acquire", "on_start"), transition_data={})
        return list(NotificationDelivery.objects.filter(job=job).order_by("pk").values_list("kind", "status"))

    return fire


@pytest.mark.parametrize(
    ("setting", "backend", "enabled"),
    [
        ("auto", CONSOLE, False),
        ("auto", DUMMY, False),
        ("auto", SMTP, True),
        ("auto", LOCMEM, True),
        ("auto", "anymail.backends.mailgun.EmailBackend", True),
        ("false", SMTP, False),
        ("off", SMTP, False),
        ("true", CONSOLE, True),
        ("1", DUMMY, True),
        (True, CONSOLE, True),
        (False, SMTP, False),
    ],
)
def test_the_rule(settings, setting, backend, enabled):
    settings.NOTIFICATION_DEFAULT_EMAIL, settings.EMAIL_BACKEND = setting, backend
    assert default_email_enabled() is enabled


class TestLeftOut:
    def test_no_email_configured_records_and_queues_only_the_print(self, templates, user, settings, sent_tasks, start):
        settings.EMAIL_BACKEND = CONSOLE  # the service's default: prints emails, reaches nobody
        job = make_job(templates["noop"], user, status=JobStatus.RUNNING)
        assert start(job) == [("print", "sent")]
        assert sent_tasks == []

    def test_switched_off(self, templates, user, settings, sent_tasks, start):
        settings.EMAIL_BACKEND, settings.NOTIFICATION_DEFAULT_EMAIL = SMTP, "false"
        assert start(make_job(templates["noop"], user, status=JobStatus.RUNNING)) == [("print", "sent")]
        assert sent_tasks == []

    def test_a_creator_without_an_address(self, templates, settings, sent_tasks, start):
        settings.EMAIL_BACKEND = SMTP
        nameless = UserFactory(username="nomail", email="")
        assert start(make_job(templates["noop"], nameless, status=JobStatus.RUNNING)) == [("print", "sent")]
        assert start(make_job(templates["noop"], None, status=JobStatus.RUNNING)) == [("print", "sent")]
        assert sent_tasks == []

    def test_configured_and_addressed_it_goes(self, templates, user, settings, sent_tasks, start):
        settings.EMAIL_BACKEND = SMTP
        job = make_job(templates["noop"], user, status=JobStatus.RUNNING)
        assert start(job) == [("print", "sent"), ("email", "pending")]
        email = NotificationDelivery.objects.get(job=job, kind="email")
        assert sent_tasks == [("notifications.deliver_batch", {"delivery_ids": [email.pk]})]

    def test_forced_on_it_goes_even_to_the_console(self, templates, user, settings, start):
        settings.EMAIL_BACKEND, settings.NOTIFICATION_DEFAULT_EMAIL = CONSOLE, "true"
        assert start(make_job(templates["noop"], user, status=JobStatus.RUNNING)) == [
            ("print", "sent"),
            ("email", "pending"),
        ]

    def test_meta_jobs_too(self, templates, user, settings, start):
        settings.EMAIL_BACKEND = CONSOLE
        assert start(make_job(templates["meta"], user, status=JobStatus.RUNNING)) == [("print", "sent")]


class TestOverridesStillGo:
    EMAIL = {"subject": "Job {pk}", "body": "started", "to": "ops@example.org"}

    @pytest.mark.parametrize(("setting", "backend"), [("auto", CONSOLE), ("false", SMTP)])
    def test_an_override_email_to_a_given_address(self, templates, user, settings, sent_tasks, setting, backend, start):
        settings.NOTIFICATION_DEFAULT_EMAIL, settings.EMAIL_BACKEND = setting, backend
        override = {"keep_default": True, "actions": {"on_start": [self.EMAIL]}}
        job = make_job(templates["noop"], user, status=JobStatus.RUNNING, notification_override=override)
        assert start(job) == [("print", "sent"), ("email", "pending")]  # the default email: left out
        email = NotificationDelivery.objects.get(job=job, kind="email")
        assert email.content["to"] == ["ops@example.org"]
        assert sent_tasks == [("notifications.deliver_batch", {"delivery_ids": [email.pk]})]

    def test_an_override_repeating_the_default_email_asks_for_it(self, templates, user, settings, start):
        settings.EMAIL_BACKEND = CONSOLE
        default_email = {
            "subject": "Job #{pk} started",
            "body": "Job #{pk} ({template}) has now been started.\n\nJob description:\n{description}\n",
        }
        override = {"keep_default": True, "actions": {"on_start": [default_email]}}
        job = make_job(templates["noop"], user, status=JobStatus.RUNNING, notification_override=override)
        assert start(job) == [("print", "sent"), ("email", "pending")]

    def test_an_override_email_with_nobody_to_go_to_is_recorded_failed_not_queued(self, templates, sent_tasks, start):
        nameless = UserFactory(username="nomail", email="")
        override = {"actions": {"on_start": [{"subject": "s", "body": "b"}]}}
        job = make_job(templates["noop"], nameless, status=JobStatus.RUNNING, notification_override=override)
        assert start(job) == [("email", "failed")]
        email = NotificationDelivery.objects.get(job=job)
        assert email.attempts == 0 and "no recipient" in email.error and email.content["to"] == []
        assert sent_tasks == []

    def test_cc_alone_is_somebody(self, templates, sent_tasks, start):
        nameless = UserFactory(username="nomail", email="")
        override = {"actions": {"on_start": [{"subject": "s", "body": "b", "cc": "boss@example.org"}]}}
        job = make_job(templates["noop"], nameless, status=JobStatus.RUNNING, notification_override=override)
        assert start(job) == [("email", "pending")]


def test_the_system_check_names_a_bad_value(settings):
    settings.NOTIFICATION_DEFAULT_EMAIL = "sometimes"
    with pytest.raises(SystemCheckError, match="notifications.E002.*NOTIFICATION_DEFAULT_EMAIL: auto, true or false"):
        call_command("check")
    settings.NOTIFICATION_DEFAULT_EMAIL = "auto"
    call_command("check")
