"""Django admin of the data layer: teams with their members, projects, and datasets with their files."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from config.admin_base import SoftDeleteStateFilter, is_active
from config.errors import Conflict
from workspaces.models import Dataset, DatasetFile
from workspaces.services.datasets import dataset_hard_delete, dataset_reinstate, dataset_soft_delete


class DatasetFileInline(admin.TabularInline):
    """A dataset's files: name, size and a download link (files are added through the API)."""

    model = DatasetFile
    fields = ["filename", "size", "creation_time", "download"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @admin.display(description="download")
    def download(self, datafile: DatasetFile) -> str:
        if datafile.pk is None:
            return "-"
        url = reverse("dataset-file", kwargs={"pk": datafile.dataset_id, "filename": datafile.filename})
        return format_html('<a href="{}">download</a>', url)


@admin.register(Dataset)
class DatasetAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "version",
        "domain",
        "licence",
        "creator",
        "project",
        "is_public",
        is_active,
        "creation_time",
    ]
    list_filter = [SoftDeleteStateFilter, "domain", "licence", "is_public", "project"]
    list_select_related = ["domain", "licence", "creator", "project"]
    search_fields = ["name", "description", "creator__username", "project__name", "project__team__name"]
    readonly_fields = ["creation_time", "deletion_time"]
    autocomplete_fields = ["creator"]
    inlines = [DatasetFileInline]
    actions = ["soft_delete_selected", "reinstate_selected"]

    def save_model(self, request, obj: Dataset, form, change: bool) -> None:
        if not change and obj.creator_id is None:
            obj.creator = request.user
        super().save_model(request, obj, form, change)

    # Deleting from the admin is the hard delete: same reference checks, and the stored files go too.
    def delete_model(self, request, obj: Dataset) -> None:
        try:
            dataset_hard_delete(dataset=obj)
        except Conflict as exc:
            self.message_user(request, f"{obj}: {exc.detail}", messages.ERROR)

    def delete_queryset(self, request, queryset: QuerySet[Dataset]) -> None:
        for dataset in queryset:
            self.delete_model(request, dataset)

    @admin.action(description="Soft-delete the selected datasets")
    def soft_delete_selected(self, request, queryset: QuerySet[Dataset]) -> None:
        datasets = list(queryset.filter(deletion_time__isnull=True))
        for dataset in datasets:
            dataset_soft_delete(dataset=dataset)
        self.message_user(request, f"Soft-deleted {len(datasets)} dataset(s).", messages.SUCCESS)

    @admin.action(description="Reinstate the selected datasets")
    def reinstate_selected(self, request, queryset: QuerySet[Dataset]) -> None:
        reinstated = 0
        for dataset in queryset.filter(deletion_time__isnull=False):
            try:
                dataset_reinstate(dataset=dataset)
                reinstated += 1
            except Conflict as exc:
                self.message_user(request, f"{dataset}: {exc.detail}", messages.ERROR)
        self.message_user(request, f"Reinstated {reinstated} dataset(s).", messages.SUCCESS)
