"""Delivery records: one per notification a job's transition sent (or tried to send).

Websocket deliveries double as the job's stream: a websocket consumer replays the last one on
connect and, where the channel layer cannot reach it, polls for new ones (see notifications.consumers).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from notifications.kinds import ACTIONS, KIND_NAMES


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class NotificationDelivery(models.Model):
    """A notification of a job's transition: what was asked, what was sent, and how it went."""

    job = models.ForeignKey("jobtemplates.Job", on_delete=models.CASCADE, related_name="notification_deliveries")
    action = models.CharField(max_length=20, choices=[(a, a) for a in ACTIONS], help_text="on_<transition>")
    kind = models.CharField(max_length=10, choices=[(k, k) for k in KIND_NAMES])
    notification = models.JSONField(help_text="the notification object, as given")
    content = models.JSONField(help_text="what is sent: message, email, webhook payload or websocket data")
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True, help_text="why the last attempt failed")
    created_time = models.DateTimeField(default=timezone.now)
    sent_time = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        verbose_name = "notification delivery"
        verbose_name_plural = "notification deliveries"
        indexes = [
            # The job's deliveries (route, admin) and its websocket stream (replay, polling).
            models.Index(fields=["job", "kind", "id"], name="delivery_job_kind"),
            models.Index(fields=["status", "kind"], name="delivery_status_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.action} of job {self.job_id} ({self.status})"

    @property
    def transition(self) -> str:
        return self.action.removeprefix("on_")
