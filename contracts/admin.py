"""Django admin of the catalogue (domains, licences, frameworks, hardware, CUDA versions, docker images,
pretrained models). Job types and contracts are registered with the registry listing."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.db import models

from contracts import admin_types  # noqa: F401  (read-only JobType / JobContract pages)
from contracts.models import (
    CUDAVersion,
    DockerImage,
    Domain,
    Framework,
    Hardware,
    Licence,
    PretrainedModel,
)

# A URL typed without a scheme means https (Django 6's default; silences its deprecation warning).
URL_FIELDS_ASSUME_HTTPS: dict[type[models.Field], dict[str, Any]] = {models.URLField: {"assume_scheme": "https"}}


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
