"""Admin building blocks the apps share: the soft-delete state filter and "active" column, and read-only
model and inline admins (for rows that are made and changed by services, never by hand)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from config.softdelete import SoftDeleteModel


class SoftDeleteStateFilter(admin.SimpleListFilter):
    """``?state=active`` (``deletion_time`` null) or ``?state=deleted`` (soft-deleted) rows of a
    soft-deletable model; neither: all of them."""

    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("active", "active"), ("deleted", "soft-deleted")]

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.filter(deletion_time__isnull=True)
        if self.value() == "deleted":
            return queryset.filter(deletion_time__isnull=False)
        return queryset


@admin.display(boolean=True, description="active")
def is_active(obj: SoftDeleteModel) -> bool:
    """The "active" column of a soft-deletable model's changelist (a tick while not soft-deleted)."""
    return obj.deletion_time is None


class ReadOnlyModelAdmin(admin.ModelAdmin):
    """Rows that are viewable here but never added, changed or deleted by hand."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class ReadOnlyInline(admin.TabularInline):
    """Related rows shown on their parent's page, never added, changed or deleted there."""

    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False
