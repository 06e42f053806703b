"""The representation of delivery records, served at ``GET /v1/jobs/{pk}/notifications``."""

from __future__ import annotations

from rest_framework import serializers

from notifications.kinds import redact_secrets
from notifications.models import NotificationDelivery
from notifications.selectors import job_delivery_list


class NotificationDeliverySerializer(serializers.ModelSerializer):
    """One notification of one of the job's transitions: what it was, what it sent, and how that went."""

    transition = serializers.CharField(read_only=True)

    class Meta:
        model = NotificationDelivery
        fields = [
            "pk",
            "job",
            "action",
            "transition",
            "kind",
            "notification",
            "content",
            "status",
            "attempts",
            "error",
            "created_time",
            "sent_time",
        ]
        read_only_fields = fields

    def to_representation(self, instance: NotificationDelivery) -> dict:
        data = super().to_representation(instance)
        data["notification"] = redact_secrets(data["notification"])
        return data


def job_notifications(*, job) -> list[dict]:
    """Every delivery of ``job``, oldest first, as the route answers them."""
    return list(NotificationDeliverySerializer(job_delivery_list(job=job), many=True).data)
