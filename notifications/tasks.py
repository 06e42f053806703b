"""Celery tasks of notifications, run by the notifier (the NOTIFICATION_QUEUE worker).

* ``notifications.deliver_batch``: the email and webhook deliveries one transition recorded, each
  attempted in turn; one that fails and may succeed later is queued again alone, after its backoff.
* ``notifications.deliver``: one delivery (those queued again, and messages queued before batches).

Both are acknowledged late (a worker lost mid-way hands its message on: what was sent is not sent again);
each delivery records its own outcome, and one that fails never stops the others of its batch.
"""

from __future__ import annotations

import logging

from celery import shared_task

from notifications.delivery import RETRY, delivery_attempt
from notifications.queueing import delivery_requeue

logger = logging.getLogger(__name__)


def deliver(delivery_id: int) -> str:
    """One attempt at ``delivery_id``; a failure worth another is queued again. Returns the outcome."""
    try:
        attempt = delivery_attempt(delivery_id=delivery_id)
    except Exception:  # the database, most likely: the record stays pending (the admin shows it)
        logger.exception("delivery %s could not be attempted", delivery_id)
        raise
    if attempt.outcome == RETRY:
        delivery_requeue(delivery_id, attempts=attempt.attempts)
    return attempt.outcome


@shared_task(name="notifications.deliver_batch", acks_late=True, ignore_result=True)
def deliver_batch_task(delivery_ids: list[int]) -> dict[int, str]:
    """Attempt each of ``delivery_ids``; a failure of one never stops the others."""
    outcomes: dict[int, str] = {}
    failed: Exception | None = None
    for delivery_id in delivery_ids:
        try:
            outcomes[delivery_id] = deliver(delivery_id)
        except Exception as error:
            outcomes[delivery_id], failed = "error", error
    if failed is not None:
        raise failed  # logged as the task's failure; each of the others is settled
    return outcomes


@shared_task(name="notifications.deliver", acks_late=True, ignore_result=True)
def deliver_notification_task(delivery_id: int) -> str:
    """Attempt delivery ``delivery_id`` (queued again after a failed attempt, or by an earlier version)."""
    return deliver(delivery_id)
