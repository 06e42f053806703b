"""Firing a job transition's notifications (called by the job services after the transition's commit).

For each action (``on_finish``…) the job's notifications are its defaults and override merged
(:func:`notifications.kinds.merge_actions`); each gets a delivery record with its rendered content.

* print and websocket are delivered here at once: a log line, and the record itself (which websocket
  consumers replay and poll) plus a push on the channel layer. Both are local and cannot hang, and a
  broker hop per progress event would only add latency and let events overtake each other.
* email and webhook reach remote hosts that may be slow or down: the ones a call records go to the
  notifier as one message, on the notification queue (:mod:`notifications.queueing`), and are retried
  there each on its own.
* the defaults' emails go only where email is configured and the creator has an address
  (NOTIFICATION_DEFAULT_EMAIL; docs/notifications.md); otherwise they are left out, not recorded.

Cheap on the job path: the template's kind and label come from a per-process cache
(:mod:`notifications.facts`), the creator's address is read only for an email to them, and everything a
call records is one INSERT.

Nothing here raises: the transition is committed, and a notification must never change the job.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connections, router, transaction
from django.utils import timezone

from notifications.defaults import default_actions, default_email_enabled
from notifications.facts import TemplateFacts, creator_email, template_facts
from notifications.kinds import merge_actions, parse_override
from notifications.models import DeliveryStatus, NotificationDelivery
from notifications.queueing import deliveries_enqueue
from notifications.rendering import notification_data, render_content

logger = logging.getLogger(__name__)
print_logger = logging.getLogger("notifications.print")

INLINE_KINDS = frozenset({"print", "websocket"})
NO_RECIPIENT = "PermanentFailure: no recipient: the notification has no `to` and the job's creator no email address"


def websocket_group(job_id: int) -> str:
    """The channel-layer group of a job's websocket listeners."""
    return f"{settings.NOTIFICATION_WEBSOCKET_GROUP_PREFIX}.job.{job_id}"


def job_transition_notify(*, job, actions: Iterable[str], transition_data: dict[str, Any]) -> None:
    """Send ``job``'s notifications for ``actions``: record each, deliver print and websocket now,
    queue email and webhook deliveries (one message for all of them). Logs (never raises) when anything
    goes wrong. Costs one INSERT when anything is recorded, nothing otherwise; no other query once this
    process knows the job's template, but for the creator's address when an email to them applies."""
    actions = tuple(actions)
    try:
        deliveries = deliveries_create(job=job, actions=actions, transition_data=transition_data)
    except Exception:
        logger.exception("notifications of job %s (%s) could not be recorded", job.pk, ",".join(actions))
        return
    queued = []
    for delivery in deliveries:
        if delivery.kind == "websocket":
            _push(delivery)
        elif delivery.status == DeliveryStatus.PENDING:
            queued.append(delivery.pk)
    if queued:
        # Dispatch normally runs after commit already; inside a transaction, the task must not run
        # before its records are visible.
        transaction.on_commit(lambda: deliveries_enqueue(queued))


class _Recipients:
    """Who the job's emails go to, read at most once per call and only when an email needs it."""

    def __init__(self, job) -> None:
        self.job = job
        self._creator: str | None | bool = False  # False: not read yet

    @property
    def creator(self) -> str | None:
        if self._creator is False:
            self._creator = creator_email(self.job)
        return self._creator  # type: ignore[return-value]


def deliveries_create(*, job, actions: tuple[str, ...], transition_data: dict[str, Any]) -> list[NotificationDelivery]:
    """The delivery records of ``actions`` (print ones already printed), written in one query.

    A default email (from the defaults, not the job's override) is left out when default emails are off
    (NOTIFICATION_DEFAULT_EMAIL) or it has nobody to go to; an override's email with nobody to go to is
    recorded failed at once."""
    override, _ = parse_override(job.notification_override, "notification_override")  # checked at create-job
    facts: TemplateFacts | None = None
    if override is None or override.keep_default:
        facts = template_facts(job)
        defaults = default_actions(meta=facts.is_meta)
    else:
        defaults = {}  # replaced by the override: the template's kind does not matter
    per_action = merge_actions(defaults, override, is_child=job.parent_id is not None)
    recipients = _Recipients(job)
    now = timezone.now()
    deliveries = []
    for action in actions:
        notifications = per_action.get(action, ())
        explicit = {item.identity for item in override.actions.get(action, ())} if override is not None else set()
        data = None
        for notification in notifications:
            status = DeliveryStatus.SENT if notification.kind in INLINE_KINDS else DeliveryStatus.PENDING
            error = ""
            creator = None
            if notification.kind == "email":
                default = notification.identity not in explicit
                if default and not default_email_enabled():
                    continue
                if not notification.get("to"):
                    creator = recipients.creator
                if not (notification.get("to") or creator or notification.get("cc") or notification.get("bcc")):
                    if default:
                        continue  # a default email to a creator without an address: nobody to tell
                    status, error = DeliveryStatus.FAILED, NO_RECIPIENT
            if data is None:
                facts = facts or template_facts(job)
                data = notification_data(job=job, action=action, transition_data=transition_data, template=facts.label)
            content = render_content(notification, data, creator_email=creator)
            if notification.kind == "print":
                print_logger.info("%s", content["message"])
            inline = status == DeliveryStatus.SENT
            deliveries.append(
                NotificationDelivery(
                    job_id=job.pk,
                    action=action,
                    kind=notification.kind,
                    notification=notification.as_dict(),
                    content=content,
                    created_time=now,
                    status=status,
                    attempts=1 if inline else 0,
                    sent_time=now if inline else None,
                    error=error,
                )
            )
    if deliveries:
        deliveries = records_insert(deliveries)
    return deliveries


def records_insert(deliveries: list[NotificationDelivery]) -> list[NotificationDelivery]:
    """Insert ``deliveries`` in one statement, their primary keys set (tasks and websocket events carry
    them; PostgreSQL and SQLite ≥ 3.35 return them). Outside a transaction, as after a transition's
    commit, the INSERT alone is atomic: bulk_create's BEGIN and COMMIT around it would be two more round
    trips per transition. Inside one, or past one statement's parameters, it is bulk_create."""
    meta = NotificationDelivery._meta
    database = router.db_for_write(NotificationDelivery)
    connection = connections[database]
    fields = [field for field in meta.concrete_fields if not field.primary_key and not field.generated]
    if (
        connection.in_atomic_block
        or not connection.features.can_return_rows_from_bulk_insert
        or len(deliveries) > connection.ops.bulk_batch_size(fields, deliveries)
    ):
        return NotificationDelivery.objects.bulk_create(deliveries)
    returning = meta.db_returning_fields
    # The manager passes _insert (bulk_create's own step) to its queryset; the stubs leave it out.
    rows = NotificationDelivery.objects._insert(  # type: ignore[attr-defined]
        deliveries, fields=fields, returning_fields=returning, using=database
    )
    for delivery, row in zip(deliveries, rows, strict=True):
        for field, value in zip(returning, row, strict=True):
            setattr(delivery, field.attname, value)
        delivery._state.adding, delivery._state.db = False, database
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
