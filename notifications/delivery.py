"""Performing one queued delivery (email or webhook): send, then record sent or the error.

Idempotent: a delivery that is no longer pending (sent, failed, or a duplicate message) is left alone.
A failed attempt raises :class:`DeliveryFailed` so the task retries it with backoff; the last attempt,
or a permanent failure, marks the delivery failed instead. The job is never touched.
"""

from __future__ import annotations

import logging

from django.db.models import F
from django.utils import timezone

from notifications.models import DeliveryStatus, NotificationDelivery
from notifications.senders import SENDERS, PermanentFailure

logger = logging.getLogger(__name__)
ERROR_MAX_CHARS = 2000


class DeliveryFailed(Exception):
    """This attempt failed; another may succeed."""


def delivery_perform(*, delivery_id: int, last_attempt: bool) -> str:
    """Send delivery ``delivery_id``; returns its status afterwards (``gone`` if it no longer exists)."""
    delivery = (
        NotificationDelivery.objects.filter(pk=delivery_id)
        .only("pk", "kind", "notification", "content", "status")
        .first()
    )
    if delivery is None:
        return "gone"
    if delivery.status != DeliveryStatus.PENDING or delivery.kind not in SENDERS:
        return delivery.status
    pending = NotificationDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING)
    pending.update(attempts=F("attempts") + 1)
    try:
        SENDERS[delivery.kind](
            delivery.content, message_id=f"delivery-{delivery.pk}", notification=delivery.notification
        )
    except Exception as error:
        message = f"{type(error).__name__}: {error}"[:ERROR_MAX_CHARS]
        if last_attempt or isinstance(error, PermanentFailure):
            logger.warning("delivery %s (%s) failed for good: %s", delivery_id, delivery.kind, message)
            pending.update(status=DeliveryStatus.FAILED, error=message)
            return DeliveryStatus.FAILED
        pending.update(error=message)
        raise DeliveryFailed(message) from error
    pending.update(status=DeliveryStatus.SENT, sent_time=timezone.now(), error="")
    return DeliveryStatus.SENT
