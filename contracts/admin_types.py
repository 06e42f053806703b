"""Admin pages of the type and contract listings: read-only, since the registries in code are the source."""

from django.contrib import admin

from config.admin_base import ReadOnlyModelAdmin
from contracts.models import JobContract, JobType


class RegistryMirrorAdmin(ReadOnlyModelAdmin):
    """Rows mirrored from a registry in code: viewable, never added, changed or deleted here."""

    list_display = ("name", "pkg", "cls")
    search_fields = ("name", "cls")
    readonly_fields = ("name", "pkg", "cls")
    ordering = ("pk",)


admin.site.register(JobType, RegistryMirrorAdmin)
admin.site.register(JobContract, RegistryMirrorAdmin)
