"""Performing one attempt at a queued delivery (email or webhook): send, then record sent or the error.

Each delivery counts its own attempts on its record (``attempts``): its last is attempt
1 + NOTIFICATION_DELIVERY_MAX_RETRIES, whichever message carries it (a batch, a retry, a duplicate).

Idempotent: a delivery that is no longer pending (sent, failed) is left alone, so a duplicate message (one
redelivered after its worker was lost) sends nothing already sent; an attempt is claimed by moving
``attempts`` on from the count read, so two copies that read the record together do not both send.
A failed attempt leaves the delivery pending for another (the caller queues it after its backoff); the
last attempt, or a permanent failure, marks it failed. The job is never touched.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from notifications.models import DeliveryStatus, NotificationDelivery
from notifications.senders import SENDERS, PermanentFailure

logger = logging.getLogger(__name__)
ERROR_MAX_CHARS = 2000
GONE = "gone"  # the record no longer exists (its job was deleted)
RETRY = "retry"  # the attempt failed; another may succeed
BUSY = "busy"  # another copy of the message took this attempt


@dataclass(frozen=True)
class Attempt:
    """What an attempt came to: ``outcome`` is a delivery status, ``retry``, ``busy`` or ``gone``."""

    outcome: str
    attempts: int = 0
    error: str = ""


def max_attempts() -> int:
    return 1 + max(0, int(settings.NOTIFICATION_DELIVERY_MAX_RETRIES))


def delivery_attempt(*, delivery_id: int) -> Attempt:
    """Make the next attempt at delivery ``delivery_id``, unless it is settled or being attempted."""
    row = _read(delivery_id)
    if row is None:
        return Attempt(GONE)
    kind, notification, content, status, attempts = row
    if status != DeliveryStatus.PENDING or kind not in SENDERS:
        return Attempt(status, attempts)
    mine = NotificationDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING, attempts=attempts)
    if not mine.update(attempts=attempts + 1):
        return Attempt(BUSY, attempts)
    attempts += 1
    pending = NotificationDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING)
    try:
        SENDERS[kind](content, message_id=f"delivery-{delivery_id}", notification=notification)
    except Exception as error:
        message = f"{type(error).__name__}: {error}"[:ERROR_MAX_CHARS]
        if attempts >= max_attempts() or isinstance(error, PermanentFailure):
            logger.warning("delivery %s (%s) failed for good: %s", delivery_id, kind, message)
            pending.update(status=DeliveryStatus.FAILED, error=message)
            return Attempt(DeliveryStatus.FAILED, attempts, message)
        pending.update(error=message)
        return Attempt(RETRY, attempts, message)
    pending.update(status=DeliveryStatus.SENT, sent_time=timezone.now(), error="")
    return Attempt(DeliveryStatus.SENT, attempts)


def _read(delivery_id: int) -> tuple | None:
    """``(kind, notification, content, status, attempts)`` of the delivery, None if it is gone."""
    return (
        NotificationDelivery.objects.filter(pk=delivery_id)
        .values_list("kind", "notification", "content", "status", "attempts")
        .first()
    )
