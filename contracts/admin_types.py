"""Admin pages of the type and contract listings: read-only, since the registries in code are the source."""

from django.contrib import admin
from django.http import HttpRequest

from contracts.models import JobContract, JobType


class RegistryMirrorAdmin(admin.ModelAdmin):
    """Rows mirrored from a registry in code: viewable, never added, changed or deleted here."""

    list_display = ("name", "pkg", "cls")
    search_fields = ("name", "cls")
    readonly_fields = ("name", "pkg", "cls")
    ordering = ("pk",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


admin.site.register(JobType, RegistryMirrorAdmin)
admin.site.register(JobContract, RegistryMirrorAdmin)
