"""Sending email and webhook deliveries to the notifier: by task name (nothing here imports worker code), on
the notification queue (NOTIFICATION_QUEUE), so that a slow receiver never holds a job worker.

* The deliveries one transition recorded go as one ``notifications.deliver_batch`` message.
* A delivery whose attempt failed is sent again alone (``notifications.deliver``), after its backoff.

A message that cannot be sent (the broker is down) marks its deliveries failed, saying so, rather than
leave them pending for ever.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings

from config.celery import app as celery_app
from notifications.models import DeliveryStatus, NotificationDelivery

logger = logging.getLogger(__name__)

DELIVER_TASK = "notifications.deliver"  # one delivery (retries; messages queued before batches existed)
DELIVER_BATCH_TASK = "notifications.deliver_batch"
ERROR_MAX_CHARS = 2000


def delivery_queue() -> str | None:
    """The queue deliveries go to (None: Celery's default queue)."""
    return settings.NOTIFICATION_QUEUE or None


def _time_limits(count: int) -> dict[str, Any]:
    """Per-message time limits for ``count`` deliveries (enforced by prefork workers only)."""
    limit = settings.NOTIFICATION_DELIVERY_TIME_LIMIT_SECONDS * count
    return {"soft_time_limit": limit, "time_limit": limit + 30}


def deliveries_enqueue(delivery_ids: Sequence[int]) -> bool:
    """Send the deliveries ``delivery_ids`` (recorded together) as one message; False, with each marked
    failed, when it cannot be sent."""
    ids = list(delivery_ids)
    if not ids:
        return True
    try:
        celery_app.send_task(
            DELIVER_BATCH_TASK, kwargs={"delivery_ids": ids}, queue=delivery_queue(), **_time_limits(len(ids))
        )
    except Exception as error:  # broker down: say so on the records rather than leave them pending
        logger.exception("could not queue deliveries %s", ids)
        _mark_unqueued(ids, f"could not be queued: {error}")
        return False
    return True


def retry_countdown(attempts: int) -> float:
    """Seconds before the attempt after ``attempts`` failed ones: backoff·2^(attempts-1), capped, with
    jitter (a random wait up to that) when NOTIFICATION_RETRY_JITTER."""
    return get_exponential_backoff_interval(
        factor=settings.NOTIFICATION_RETRY_BACKOFF_SECONDS,
        retries=max(0, attempts - 1),
        maximum=settings.NOTIFICATION_RETRY_BACKOFF_MAX_SECONDS,
        full_jitter=settings.NOTIFICATION_RETRY_JITTER,
    )


def delivery_requeue(delivery_id: int, *, attempts: int) -> bool:
    """Send delivery ``delivery_id`` again, alone, after the backoff of its ``attempts`` failed attempts;
    False, with it marked failed, when it cannot be sent."""
    try:
        celery_app.send_task(
            DELIVER_TASK,
            kwargs={"delivery_id": delivery_id},
            queue=delivery_queue(),
            countdown=retry_countdown(attempts),
            **_time_limits(1),
        )
    except Exception as error:
        logger.exception("could not queue delivery %s again", delivery_id)
        _mark_unqueued([delivery_id], f"could not be queued again: {error}")
        return False
    return True


def _mark_unqueued(delivery_ids: list[int], error: str) -> None:
    try:
        NotificationDelivery.objects.filter(pk__in=delivery_ids, status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.FAILED, error=error[:ERROR_MAX_CHARS]
        )
    except Exception:  # the database too: nothing more to be done here
        logger.exception("could not mark deliveries %s failed", delivery_ids)
