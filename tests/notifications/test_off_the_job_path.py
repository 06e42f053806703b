"""Issue 14 point 2, end to end: a webhook receiver that hangs never holds a job worker's slot. Real
processes, as ``manage.py serve`` runs them: a job worker with ONE prefork child (one slot) on the job
queue, and a notifier (threads) on the notification queue; the receiver is a local HTTP server that does
not answer until the test lets it (only the outside world is faked).

Were deliveries on the job queue (as before), the job worker's only slot would wait on the hanging
receiver and the second job would not run until it answered: the test would time out waiting for it.
"""

from __future__ import annotations

import re

import pytest
from django.conf import settings

from config.celery import app as celery_app
from jobtemplates.models import Job
from jobtemplates.services.jobs import job_create
from notifications.models import NotificationDelivery
from tests.e2e import wait_for_status
from tests.notifications.conftest import templates_for
from tests.workers import WorkerProcess, notification_queue_of, wait_until

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

# The receiver may hang far longer than the test waits for anything else; a failed attempt is retried
# after a second.
DELIVERY_ENV = {
    "NOTIFICATION_WEBHOOK_TIMEOUT_SECONDS": "120",
    "NOTIFICATION_DELIVERY_MAX_RETRIES": "2",
    "NOTIFICATION_RETRY_BACKOFF_SECONDS": "1",
    "NOTIFICATION_RETRY_JITTER": "false",
}


@pytest.fixture(scope="module")
def pair(django_db_setup, django_db_blocker, worker_queue, shared_media, fast_clocks, tmp_path_factory):
    """A job worker with one slot and its notifier, on queues of this module's own; this process sends
    jobs and deliveries there too."""
    queue = f"{worker_queue}-offpath"
    previous = celery_app.conf.task_default_queue, settings.NOTIFICATION_QUEUE
    celery_app.conf.task_default_queue, settings.NOTIFICATION_QUEUE = queue, notification_queue_of(queue)
    logs = tmp_path_factory.mktemp("workers")
    with django_db_blocker.unblock():  # each waits until the registry (the test database) knows it
        job_worker = WorkerProcess(queue=queue, log_dir=logs, concurrency=1, name="one-slot", extra_env=DELIVERY_ENV)
        notifier = WorkerProcess.notifier(queue=queue, log_dir=logs, concurrency=2, extra_env=DELIVERY_ENV)
    yield job_worker, notifier
    notifier.stop()
    job_worker.stop()
    celery_app.conf.task_default_queue, settings.NOTIFICATION_QUEUE = previous


BATCH_AND_SINGLE = ("notifications.deliver_batch", "notifications.deliver")


def received_since(process: WorkerProcess, before: dict[str, int]) -> dict[str, int]:
    return {name: tasks_received(process, name) - count for name, count in before.items()}


def tasks_received(process: WorkerProcess, name: str) -> int:
    """How many ``name`` messages ``process`` took (its log says ``Task name[id] received``)."""
    return len(re.findall(rf"Task {re.escape(name)}\[[0-9a-f-]+\] received", process.log.read_text(errors="replace")))


def test_a_hanging_webhook_does_not_stop_the_next_job(pair, admin_user, webhook_server):
    job_worker, notifier = pair
    before = {name: tasks_received(notifier, name) for name in BATCH_AND_SINGLE}
    templates = templates_for(admin_user)
    webhook_server.hold()
    hooked = job_create(
        template=templates["noop"],
        body={
            "input_values": {},
            "notification_override": {"actions": {"on_start": [{"url": f"{webhook_server.url}/started"}]}},
        },
        creator=admin_user,
    )
    # The notifier is inside the request, and the receiver does not answer.
    wait_until(lambda: webhook_server.waiting == 1, timeout=60, message="the webhook to reach the hanging receiver")
    assert wait_for_status(hooked.pk, {"finished", "errored"}, timeout=60).status == "finished"

    following = job_create(template=templates["noop"], body={"input_values": {}}, creator=admin_user)
    assert wait_for_status(following.pk, {"finished", "errored"}, timeout=60).status == "finished"
    # Both ran on the one slot of the job worker while the receiver still hung; the following job's
    # default email went out meanwhile too (another of the notifier's threads).
    wait_until(
        lambda: NotificationDelivery.objects.filter(job=following, kind="email", status="sent").exists(),
        timeout=60,
        message=lambda: (
            f"the following job's email: {list(NotificationDelivery.objects.filter(job=following).values())}"
        ),
    )
    assert webhook_server.waiting == 1
    assert {job.worker for job in Job.objects.filter(pk__in=[hooked.pk, following.pk])} == {job_worker.hostname}
    [delivery] = NotificationDelivery.objects.filter(job=hooked)
    assert (delivery.kind, delivery.status, delivery.attempts) == ("webhook", "pending", 1)

    webhook_server.release()
    wait_until(
        lambda: NotificationDelivery.objects.filter(pk=delivery.pk, status="sent").exists(),
        timeout=60,
        message=lambda: f"the delivery to be sent (log {notifier.log}):\n{notifier.tail()}",
    )
    assert [request["path"] for request in webhook_server.requests] == ["/started"]
    # Each job's deliveries went through the notifier, one batch message each; the job worker ran none.
    assert received_since(notifier, before) == {"notifications.deliver_batch": 2, "notifications.deliver": 0}
    assert all(tasks_received(job_worker, name) == 0 for name in BATCH_AND_SINGLE)


def test_a_retry_goes_to_the_notifier_alone(pair, admin_user, webhook_server):
    """One batch for the start's two webhooks; the one that failed comes back alone, after its backoff."""
    job_worker, notifier = pair
    before = {name: tasks_received(notifier, name) for name in BATCH_AND_SINGLE}
    templates = templates_for(admin_user)
    webhook_server.answers["/flaky"] = [503]
    job = job_create(
        template=templates["noop"],
        body={
            "input_values": {},
            "notification_override": {
                "actions": {"on_start": [{"url": f"{webhook_server.url}/flaky"}, {"url": f"{webhook_server.url}/fine"}]}
            },
        },
        creator=admin_user,
    )
    wait_for_status(job.pk, "finished", timeout=60)
    wait_until(
        lambda: NotificationDelivery.objects.filter(job=job, status="sent").count() == 2,
        timeout=60,
        message=lambda: f"both deliveries sent: {list(NotificationDelivery.objects.filter(job=job).values())}",
    )
    flaky, fine = NotificationDelivery.objects.filter(job=job).order_by("pk")
    assert (flaky.attempts, fine.attempts) == (2, 1)
    assert sorted(request["path"] for request in webhook_server.requests) == ["/fine", "/flaky", "/flaky"]
    # one batch; the retry of the flaky one, alone
    assert received_since(notifier, before) == {"notifications.deliver_batch": 1, "notifications.deliver": 1}
