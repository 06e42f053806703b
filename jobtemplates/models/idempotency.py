"""Idempotency keys of create-job: a retried request with the same key answers the job the first one made."""

from __future__ import annotations

from django.conf import settings
from django.db import models

# RFC-draft "Idempotency-Key" values are opaque strings; UUIDs are typical. This bounds the column.
IDEMPOTENCY_KEY_MAX_LENGTH = 255


class IdempotencyKey(models.Model):
    """A user's ``Idempotency-Key`` and the job its request created (written in the job's transaction)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=IDEMPOTENCY_KEY_MAX_LENGTH)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the template's pk and the canonical JSON body")
    job = models.ForeignKey("jobtemplates.Job", on_delete=models.CASCADE, related_name="+")
    creation_time = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["pk"]
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotencykey_unique_user_key")]

    def __str__(self) -> str:
        return f"{self.key} → job {self.job_id}"
