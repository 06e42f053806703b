"""Reads of delivery records: a job's deliveries, and its websocket stream (last one, new ones)."""

from __future__ import annotations

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


def websocket_new(*, job_id: int, after: int, since: datetime) -> list[tuple[int, dict]]:
    """The job's websocket messages past delivery ``after``, and any written ``since`` (oldest first).

    ``since`` covers rows whose transaction committed after a later-numbered one was read (possible on
    PostgreSQL, where numbers are taken before commit); the caller drops those it has sent already.
    """
    return list(
        NotificationDelivery.objects.filter(
            Q(pk__gt=after) | Q(created_time__gte=since), job_id=job_id, kind="websocket"
        )
        .order_by("pk")
        .values_list("pk", "content")
    )
