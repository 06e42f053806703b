"""Soft deletion: an abstract model with ``deletion_time`` and the three generic lifecycle actions.

Soft-deleted rows stay readable by pk, vanish from lists unless ``include_inactive`` is asked for,
and come back with reinstate. Hard delete removes the row, refusing (409, nothing removed) while
anything references it.
"""

from __future__ import annotations

from typing import TypeVar

from django.db import IntegrityError, models, transaction
from django.db.models import ProtectedError, RestrictedError
from django.utils import timezone

from config.errors import Conflict, Problem


class SoftDeleteQuerySet(models.QuerySet):
    def active(self) -> SoftDeleteQuerySet:
        return self.filter(deletion_time__isnull=True)


class SoftDeleteModel(models.Model):
    """Adds ``deletion_time``: null while the row is active."""

    deletion_time = models.DateTimeField(null=True, blank=True, editable=False, db_index=True)

    objects = SoftDeleteQuerySet.as_manager()

    class Meta:
        abstract = True

    @property
    def is_active(self) -> bool:
        return self.deletion_time is None


Row = TypeVar("Row", bound=SoftDeleteModel)


def soft_delete(*, instance: Row) -> Row:
    """Mark ``instance`` deleted now; deleting a deleted row changes nothing."""
    if instance.deletion_time is None:
        now = timezone.now()
        type(instance).objects.filter(pk=instance.pk, deletion_time__isnull=True).update(deletion_time=now)
        instance.deletion_time = now
    return instance


def reinstate(*, instance: Row) -> Row:
    """Clear ``deletion_time``; a uniqueness clash with an active row is a 409 naming the conflict."""
    if instance.deletion_time is not None:
        try:
            with transaction.atomic():
                type(instance).objects.filter(pk=instance.pk).update(deletion_time=None)
        except IntegrityError as exc:  # a partial unique constraint among active rows
            raise Conflict(
                "An active row with the same identity exists.",
                code="duplicate",
                problems=[Problem(path="", code="duplicate", message=f"{instance} clashes with an active row")],
            ) from exc
        instance.deletion_time = None
    return instance


def hard_delete(*, instance: models.Model) -> None:
    """Delete ``instance`` for good, or raise a 409 naming what still references it."""
    try:
        with transaction.atomic():
            instance.delete()
    except (ProtectedError, RestrictedError) as exc:
        blocking = exc.protected_objects if isinstance(exc, ProtectedError) else exc.restricted_objects
        referencing = sorted({f"{obj._meta.verbose_name} {obj}" for obj in list(blocking)[:20]})
        raise Conflict(
            f"{instance} is still referenced and cannot be deleted.",
            code="referenced",
            problems=[Problem(path="", code="referenced", message=f"referenced by {name}") for name in referencing],
        ) from exc
