"""Firing a job transition's notifications (called by the job services after the transition's commit).

For each action (``on_finish``…) the job's notifications are its defaults and override merged
(:func:`notifications.kinds.merge_actions`); each gets a delivery record with its rendered content.

* print and websocket are delivered here at once: a log line, and the record itself (which websocket
  consumers replay and poll) plus a push on the channel layer. Both are local and cannot hang, and a
  broker hop per progress event would only add latency and let events overtake each other.
* email and webhook reach remote hosts that may be slow or down: they are sent by the
  ``notifications.deliver`` Celery task (by name: nothing here imports worker code), which retries.

Nothing here raises: the transition is committed, and a notification must never change the job.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from config.celery import app as celery_app
from notifications.defaults import default_actions
from notifications.kinds import merge_actions, parse_override
from notifications.models import DeliveryStatus, NotificationDelivery
from notifications.rendering import notification_data, render_content

logger = logging.getLogger(__name__)
print_logger = logging.getLogger("notifications.print")

DELIVER_TASK = "notifications.deliver"
INLINE_KINDS = frozenset({"print", "websocket"})


def websocket_group(job_id: int) -> str:
    """The channel-layer group of a job's websocket listeners."""
    return f"{settings.NOTIFICATION_WEBSOCKET_GROUP_PREFIX}.job.{job_id}"


def job_transition_notify(*, job, actions: Iterable[str], transition_data: dict[str, Any]) -> None:
    """Send ``job``'s notifications for ``actions``: record each, deliver print and websocket now,
    queue email and webhook deliveries. Logs (never raises) when anything goes wrong."""
    try:
        deliveries = deliveries_create(job=job, actions=tuple(actions), transition_data=transition_data)
    except Exception:
        logger.exception("notifications of job %s (%s) could not be recorded", job.pk, ",".join(actions))
        return
    for delivery in deliveries:
        if delivery.kind == "websocket":
            _push(delivery)
        elif delivery.status == DeliveryStatus.PENDING:
            # Dispatch normally runs after commit already; inside a transaction, the task must not
            # run before its record is visible.
            transaction.on_commit(lambda delivery_id=delivery.pk: _enqueue(delivery_id))


def deliveries_create(*, job, actions: tuple[str, ...], transition_data: dict[str, Any]) -> list[NotificationDelivery]:
    """The delivery records of ``actions`` (print ones already printed), written in one query."""
    override, _ = parse_override(job.notification_override, "notification_override")  # checked at create-job
    per_action = merge_actions(default_actions(meta=job.template.is_meta), override, is_child=job.parent_id is not None)
    now = timezone.now()
    deliveries = []
    for action in actions:
        notifications = per_action.get(action, ())
        if not notifications:
            continue
        data = notification_data(job=job, action=action, transition_data=transition_data)
        for notification in notifications:
            creator_email = job.creator.email if notification.kind == "email" and job.creator_id else None
            content = render_content(notification, data, creator_email=creator_email)
            inline = notification.kind in INLINE_KINDS
            if notification.kind == "print":
                print_logger.info("%s", content["message"])
            deliveries.append(
                NotificationDelivery(
                    job_id=job.pk,
                    action=action,
                    kind=notification.kind,
                    notification=notification.as_dict(),
                    content=content,
                    created_time=now,
                    status=DeliveryStatus.SENT if inline else DeliveryStatus.PENDING,
                    attempts=1 if inline else 0,
                    sent_time=now if inline else None,
                )
            )
    if deliveries:
        # Primary keys come back (PostgreSQL, SQLite ≥ 3.35): tasks and websocket events carry them.
        deliveries = NotificationDelivery.objects.bulk_create(deliveries)
    return deliveries


def _push(delivery: NotificationDelivery) -> None:
    """Tell the job's websocket listeners in reach of the channel layer (the others poll the records)."""
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(
            websocket_group(delivery.job_id),
            {
                "type": "job.transition",
                "delivery": delivery.pk,
                "data": delivery.content,
            },
        )
    except Exception:  # the record is written; pollers and the replay on connect still have it
        logger.exception("websocket push of delivery %s failed", delivery.pk)


def _enqueue(delivery_id: int) -> None:
    try:
        celery_app.send_task(DELIVER_TASK, kwargs={"delivery_id": delivery_id})
    except Exception as error:  # broker down: say so on the record rather than leave it pending forever
        logger.exception("could not queue delivery %s", delivery_id)
        NotificationDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.FAILED,
            error=f"could not be queued: {error}"[:2000],
        )
