"""Issue 14 point 2: ``job_transition_notify`` off the job path's statements. Given a job whose own columns
are loaded (as the job services build it from an ``UPDATE … RETURNING`` row: template_id and creator_id,
no template or creator objects) it issues no SELECT once the process knows the template, reads the
creator's address only when an email to them applies, and writes everything in one INSERT (none when
nothing applies)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jobtemplates.models import Job, JobStatus
from notifications import facts
from notifications.dispatch import job_transition_notify
from notifications.facts import template_facts
from notifications.models import NotificationDelivery
from tests.notifications.conftest import import_builtin, make_job

pytestmark = pytest.mark.django_db

LOCMEM = "django.core.mail.backends.locmem.EmailBackend"
CONSOLE = "django.core.mail.backends.console.EmailBackend"


def returned_row(job_id: int, status: str = JobStatus.RUNNING) -> Job:
    """The job as an ``UPDATE … RETURNING *`` gives it: its own columns, nothing joined."""
    table = connection.ops.quote_name(Job._meta.db_table)
    [job] = Job.objects.raw(f"UPDATE {table} SET status = %s WHERE id = %s RETURNING *", [status, job_id])  # noqa: S608
    assert not Job._meta.get_field("template").is_cached(job) and not Job._meta.get_field("creator").is_cached(job)
    return job


def statements(job, *actions, **transition_data) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        job_transition_notify(job=job, actions=actions, transition_data=transition_data)
    return [query["sql"].split()[0].upper() for query in queries.captured_queries]


@pytest.fixture
def warm(templates, user):
    """This process knows the noop template (another job of it fired before)."""
    template_facts(make_job(templates["noop"], user))
    return templates


class TestNoSelect:
    def test_defaults_without_email_one_insert(self, warm, user, settings):
        settings.EMAIL_BACKEND = CONSOLE  # no email configured: the default email is left out
        job = returned_row(make_job(warm["noop"], user).pk)
        assert statements(job, "on_acquire", "on_start", worker="w", attempt=1) == ["INSERT"]
        assert list(NotificationDelivery.objects.filter(job=job).values_list("kind", flat=True)) == ["print"]

    def test_the_creators_address_is_read_only_for_an_email_to_them(self, warm, user, settings):
        settings.EMAIL_BACKEND = LOCMEM
        job = returned_row(make_job(warm["noop"], user).pk)
        assert statements(job, "on_acquire", "on_start") == ["SELECT", "INSERT"]
        email = NotificationDelivery.objects.get(job=job, kind="email")
        assert email.content["to"] == ["alice@example.com"]
        # on_finish (defaults: a print) needs no address
        job = returned_row(job.pk, JobStatus.FINISHED)
        assert statements(job, "on_finish") == ["INSERT"]

    def test_an_email_to_given_addresses_reads_no_creator(self, warm, user, settings):
        settings.EMAIL_BACKEND = LOCMEM
        override = {
            "actions": {"on_finish": [{"subject": "s", "body": "b", "to": "ops@example.org"}, {"url": "http://x/"}]}
        }
        job = returned_row(make_job(warm["noop"], user, notification_override=override).pk, JobStatus.FINISHED)
        assert statements(job, "on_finish") == ["INSERT"]
        assert NotificationDelivery.objects.filter(job=job, status="pending").count() == 2

    def test_nothing_to_send_no_statement_at_all(self, warm, user):
        job = returned_row(make_job(warm["noop"], user).pk)
        assert statements(job, "on_progress", progress=0.5) == []
        assert statements(job, "on_cancel", "on_abort", "on_reset", "on_release") == []
        assert not NotificationDelivery.objects.filter(job=job).exists()

    def test_a_child_whose_defaults_are_suppressed_costs_nothing(self, warm, user, admin_user):
        parent = make_job(warm["meta"], user, status=JobStatus.RUNNING)
        template_facts(parent)
        child = make_job(warm["noop"], user, parent=parent, child_name="first")
        assert statements(returned_row(child.pk), "on_acquire", "on_start") == []

    def test_a_job_carrying_its_template_and_creator_needs_nothing_more(self, templates, user, settings):
        settings.EMAIL_BACKEND = LOCMEM
        pk = make_job(templates["noop"], user).pk
        facts.forget_templates()  # a cold process: the loaded template is used as it is
        job = Job.objects.select_related("template", "creator").get(pk=pk)
        assert statements(job, "on_acquire", "on_start") == ["INSERT"]
        assert NotificationDelivery.objects.filter(job=job).count() == 2


class TestTemplateFacts:
    def test_read_once_per_template_and_process(self, templates, user):
        job = returned_row(make_job(templates["fail"], user).pk)
        with CaptureQueriesContext(connection) as queries:
            first = template_facts(job)
            again = template_facts(returned_row(job.pk))
        assert (first, again) == (facts.TemplateFacts(is_meta=False, label="fail v1"),) * 2
        assert len([q for q in queries.captured_queries if q["sql"].startswith("SELECT")]) == 1

    def test_meta_templates_are_told_apart(self, templates, user):
        job = returned_row(make_job(templates["meta"], user).pk)
        assert template_facts(job) == facts.TemplateFacts(is_meta=True, label="two_noops v1")

    def test_saving_a_template_in_this_process_drops_it(self, templates, user, admin_user):
        template = templates["noop"]
        job = returned_row(make_job(template, user).pk)
        assert template_facts(job).label == "noop v1"
        template.name = "renamed"  # never done by the service (versions are immutable); an admin might
        template.save()
        assert template_facts(returned_row(job.pk)).label == "renamed v1"

    def test_the_cache_is_bounded(self, templates, user, admin_user, monkeypatch):
        monkeypatch.setattr(facts._templates, "size", 2)
        extra = [import_builtin("noop", admin_user, name=f"noop_{i}") for i in range(3)]
        for template in extra:
            template_facts(returned_row(make_job(template, user).pk))
        assert list(facts._templates.items) == [extra[1].pk, extra[2].pk]


@pytest.mark.django_db(transaction=True)
class TestAfterCommit:
    """As the job services call it: after the transition's commit, outside any transaction."""

    def test_the_insert_alone_no_begin_or_commit(self, user, admin_user, settings, sent_tasks):
        from tests.notifications.conftest import templates_for

        settings.EMAIL_BACKEND = LOCMEM
        templates = templates_for(admin_user)
        warm_job = make_job(templates["noop"], user)
        template_facts(warm_job)
        override = {"keep_default": True, "actions": {"on_start": [{"url": "http://x/"}, {}]}}
        job = returned_row(make_job(templates["noop"], user, notification_override=override).pk)
        assert not connection.in_atomic_block
        # the creator's address (the default email), then the one INSERT
        assert statements(job, "on_acquire", "on_start") == ["SELECT", "INSERT"]
        rows = list(NotificationDelivery.objects.filter(job=job).order_by("pk").values_list("pk", "kind", "status"))
        assert [(kind, status) for _, kind, status in rows] == [
            ("print", "sent"),
            ("email", "pending"),
            ("webhook", "pending"),
            ("websocket", "sent"),
        ]
        # The message carries the records' own primary keys, as inserted.
        assert sent_tasks == [("notifications.deliver_batch", {"delivery_ids": [rows[1][0], rows[2][0]]})]
