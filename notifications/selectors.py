"""Reads of delivery records: a job's deliveries, and the websocket stream (last message, new ones)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db.models import Q, QuerySet

from notifications.models import NotificationDelivery


def job_delivery_list(*, job) -> QuerySet[NotificationDelivery]:
    """Every delivery of ``job``, oldest first (the caller has checked that the job is visible)."""
    return NotificationDelivery.objects.filter(job_id=job.pk).order_by("pk")


def websocket_last(*, job_id: int) -> tuple[int, dict] | None:
    """The job's last websocket message as ``(delivery pk, data)``: what a new listener is sent first."""
    return (
        NotificationDelivery.objects.filter(job_id=job_id, kind="websocket")
        .order_by("-pk")
        .values_list("pk", "content")
        .first()
    )


def delivery_cursor() -> int:
    """The highest delivery pk so far (0 when there is none): where polling for new messages starts."""
    return NotificationDelivery.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def websocket_new(*, job_ids: Iterable[int], after: int, since: datetime) -> list[tuple[int, int, dict]]:
    """Websocket messages of ``job_ids`` past delivery ``after``, and any written ``since``, oldest first,
    as ``(delivery pk, job pk, data)``.

    ``since`` covers rows whose transaction committed after a later-numbered one was read (possible on
    PostgreSQL, where numbers are taken before commit); the caller drops those it has relayed already.
    """
    return list(
        NotificationDelivery.objects.filter(
            Q(pk__gt=after) | Q(created_time__gte=since), job_id__in=list(job_ids), kind="websocket"
        )
        .order_by("pk")
        .values_list("pk", "job_id", "content")
    )
