"""Django admin of the catalogue (domains, licences, frameworks, hardware, CUDA versions, docker images,
pretrained models) and of datasets. Job types and contracts are registered with the registry listing."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from config.admin_base import SoftDeleteStateFilter, is_active
from config.errors import Conflict
from contracts import admin_types  # noqa: F401  (read-only JobType / JobContract pages)
from contracts.models import (
    CUDAVersion,
    Dataset,
    DatasetFile,
    DockerImage,
    Domain,
    Framework,
    Hardware,
    Licence,
    PretrainedModel,
)
from contracts.services.datasets import dataset_hard_delete, dataset_reinstate, dataset_soft_delete

# A URL typed without a scheme means https (Django 6's default; silences its deprecation warning).
URL_FIELDS_ASSUME_HTTPS = {models.URLField: {"assume_scheme": "https"}}


@admin.register(Domain)
class DomainAdmin(admin.ModelAdmin):
    list_display = ["name", "description"]
    search_fields = ["name", "description"]


@admin.register(Licence)
class LicenceAdmin(admin.ModelAdmin):
    formfield_overrides = URL_FIELDS_ASSUME_HTTPS
    list_display = ["name", "url"]
    search_fields = ["name", "url"]


@admin.register(Framework)
class FrameworkAdmin(admin.ModelAdmin):
    list_display = ["name", "version"]
    list_filter = ["name"]
    search_fields = ["name", "version"]


@admin.register(Hardware)
class HardwareAdmin(admin.ModelAdmin):
    list_display = ["generation", "min_compute_capability", "max_compute_capability"]
    search_fields = ["generation"]


@admin.register(CUDAVersion)
class CUDAVersionAdmin(admin.ModelAdmin):
    list_display = ["version", "full_version", "min_driver_version"]
    search_fields = ["version", "full_version"]


class DockerImageAdminForm(forms.ModelForm):
    """The registry password is write-only: never shown, kept when left blank, removed only on request."""

    registry_password = forms.CharField(
        required=False,
        strip=False,
        max_length=DockerImage._meta.get_field("registry_password").max_length,
        widget=forms.PasswordInput(render_value=False),
        help_text="Write-only. Leave blank to keep the stored password.",
    )
    clear_registry_password = forms.BooleanField(required=False, label="Remove the stored password")

    class Meta:
        model = DockerImage
        fields = [
            "name",
            "version",
            "url",
            "framework",
            "domain",
            "tasks",
            "licence",
            "cpu",
            "cuda_version",
            "min_hardware_generation",
            "registry_url",
            "registry_username",
            "registry_password",
        ]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("clear_registry_password"):
            cleaned["registry_password"] = None
        elif not cleaned.get("registry_password"):
            # Blank keeps what is stored (None for a new image).
            cleaned["registry_password"] = self.instance.registry_password if self.instance.pk else None
        return cleaned


@admin.register(DockerImage)
class DockerImageAdmin(admin.ModelAdmin):
    form = DockerImageAdminForm
    list_display = ["name", "version", "framework", "domain", "cuda_version", "cpu", "licence"]
    list_filter = ["domain", "cpu", "licence", "framework__name", "tasks"]
    list_select_related = ["framework", "domain", "cuda_version", "licence"]
    search_fields = ["name", "version", "url", "framework__name"]
    filter_horizontal = ["tasks"]
    fieldsets = [
        (None, {"fields": ["name", "version", "url", "framework", "domain", "tasks", "licence"]}),
        ("Hardware", {"fields": ["cpu", "cuda_version", "min_hardware_generation"]}),
        ("Registry", {"fields": ["registry_url", "registry_username", "registry_password", "clear_registry_password"]}),
    ]


@admin.register(PretrainedModel)
class PretrainedModelAdmin(admin.ModelAdmin):
    formfield_overrides = URL_FIELDS_ASSUME_HTTPS
    list_display = ["name", "framework", "domain", "licence"]
    list_filter = ["domain", "licence", "framework__name"]
    list_select_related = ["framework", "domain", "licence"]
    search_fields = ["name", "description", "url"]


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
    search_fields = ["name", "description", "creator__username", "project__name"]
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
