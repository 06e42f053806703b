"""Celery task of notifications: deliver one email or webhook by delivery id, retrying with backoff."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from notifications.delivery import DeliveryFailed, delivery_perform


@shared_task(
    bind=True,
    name="notifications.deliver",
    acks_late=True,
    ignore_result=True,
    autoretry_for=(DeliveryFailed,),
    max_retries=settings.NOTIFICATION_DELIVERY_MAX_RETRIES,
    retry_backoff=settings.NOTIFICATION_RETRY_BACKOFF_SECONDS,
    retry_backoff_max=settings.NOTIFICATION_RETRY_BACKOFF_MAX_SECONDS,
    retry_jitter=settings.NOTIFICATION_RETRY_JITTER,
    soft_time_limit=settings.NOTIFICATION_DELIVERY_TIME_LIMIT_SECONDS,
    time_limit=settings.NOTIFICATION_DELIVERY_TIME_LIMIT_SECONDS + 30,
)
def deliver_notification_task(self, delivery_id: int) -> str:
    """Send one delivery; a failed attempt is retried until the last, which records the failure."""
    return delivery_perform(delivery_id=delivery_id, last_attempt=self.request.retries >= self.max_retries)
