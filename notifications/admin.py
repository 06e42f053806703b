"""Read-only admin of delivery records: what each transition sent, filtered by kind, status and action."""

from __future__ import annotations

import json

from django.contrib import admin

from config.admin_base import ReadOnlyModelAdmin
from notifications.kinds import redact_secrets
from notifications.models import NotificationDelivery


@admin.register(NotificationDelivery)
class NotificationDeliveryAdmin(ReadOnlyModelAdmin):
    list_display = ("pk", "job_id", "action", "kind", "status", "attempts", "created_time", "sent_time")
    list_filter = ("kind", "status", "action")
    search_fields = ("=job__id",)
    date_hierarchy = "created_time"
    readonly_fields = (
        "job",
        "action",
        "kind",
        "notification_redacted",
        "content",
        "status",
        "attempts",
        "error",
        "created_time",
        "sent_time",
    )
    fields = readonly_fields

    @admin.display(description="notification")
    def notification_redacted(self, delivery: NotificationDelivery) -> str:
        """The notification as given, a webhook's signing secret hidden."""
        return json.dumps(redact_secrets(delivery.notification))

    # The job column shows its id: no join per row, and the change page links the job.
    show_full_result_count = False
