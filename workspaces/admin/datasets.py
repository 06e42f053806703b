"""Admin of datasets and their files, every change through ``workspaces.services.datasets``.

One changelist holds the datasets of every domain; its domain filter shows how many each domain has.
A dataset's page edits what may change after creation (project, licence, description, tags, public),
lists its files with their annotations (categories of a classification dataset, the transcription of
a speech one) and download links; deleting it is the service's hard delete, files included. Files are
added and changed through the API only: their own pages are read-only.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.text import Truncator

from config.admin_base import ReadOnlyModelAdmin, SoftDeleteStateFilter, is_active
from config.errors import InvalidRequest, Problem
from contracts.models import Domain
from workspaces.admin.counts import related_count
from workspaces.admin.service_admin import ServiceModelAdmin
from workspaces.admin.tables import Column, link, related_table
from workspaces.admin.teams import change_url, labelled
from workspaces.models import DOMAIN_DATASET_PROXIES, Dataset, DatasetFile, Project
from workspaces.services.datasets import (
    dataset_create,
    dataset_hard_delete,
    dataset_reinstate,
    dataset_soft_delete,
    dataset_update,
)

METADATA_SHOWN = 200  # characters of a file's metadata in a table


def download_url(datafile: DatasetFile) -> str:
    """``/v1/datasets/{pk}/files/{name}``: the file's bytes (admins may read every dataset)."""
    return reverse("dataset-file", kwargs={"pk": datafile.dataset_id, "filename": datafile.filename})


def file_categories(datafile: DatasetFile) -> str:
    return ", ".join(category.label for category in datafile.categories.all())


def file_transcription(datafile: DatasetFile) -> str:
    transcription = getattr(datafile, "transcription", None)  # the reverse one-to-one is absent when unset
    return transcription.text if transcription is not None else ""


def file_detections(datafile: DatasetFile) -> str:
    return ", ".join(
        f"{row.label.text} ({row.x},{row.y} {row.width}x{row.height})" for row in datafile.detections.all()
    )


def file_layers(datafile: DatasetFile) -> str:
    return ", ".join(layer.label.text for layer in datafile.segmentation_layers.all())


CATEGORIES = Column("categories", file_categories, prepare=lambda files: files.prefetch_related("categories"))
TRANSCRIPTION = Column("transcription", file_transcription, prepare=lambda files: files.select_related("transcription"))
DETECTIONS = Column("annotations", file_detections, prepare=lambda files: files.prefetch_related("detections__label"))
LAYERS = Column("layers", file_layers, prepare=lambda files: files.prefetch_related("segmentation_layers__label"))
# The annotation columns of a dataset's files, by the name of its domain.
ANNOTATION_COLUMNS: dict[str, list[Column]] = {
    "ic": [CATEGORIES],
    "sc": [CATEGORIES],
    "sp": [TRANSCRIPTION],
    "od": [DETECTIONS],
    "is": [LAYERS],
}


def file_columns(domain_name: str | None) -> list[Column]:
    return [
        Column("file", lambda datafile: datafile.filename),
        Column("size", lambda datafile: datafile.size),
        Column("handle", lambda datafile: datafile.handle),
        Column("metadata", lambda datafile: Truncator(datafile.metadata).chars(METADATA_SHOWN)),
        *ANNOTATION_COLUMNS.get(domain_name or "", []),
        Column("download", lambda datafile: link(download_url(datafile), "download")),
    ]


class DomainFilter(admin.RelatedFieldListFilter):
    """The domain of the dataset, or none (a core dataset made on ``/v1/datasets``), each with how many
    rows of the list have it in all (one query; with the admin's "show counts", its counts instead)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.empty_value_display = mark_safe("core (no domain)")  # plain text, as the base class keeps it

    def choices(self, changelist):
        choices = list(super().choices(changelist))  # "All", one per domain, then "core (no domain)"
        if changelist.add_facets:
            return choices
        rows = changelist.model._default_manager.order_by().values_list(self.field_path)
        counts = dict(rows.annotate(count=Count("pk")).values_list(self.field_path, "count"))
        keys = [pk for pk, _ in self.lookup_choices] + [None] * (len(choices) - 1 - len(self.lookup_choices))
        counted = [
            {**choice, "display": f"{choice['display']} ({counts.get(key, 0)})"}
            for key, choice in zip(keys, choices[1:], strict=True)
        ]
        return [choices[0], *counted]


class DatasetAddForm(forms.ModelForm):
    version = forms.IntegerField(required=False, min_value=1, help_text="empty: the next free version")

    class Meta:
        model = Dataset
        fields = ["name", "version", "domain", "licence", "project", "is_public", "description", "tags"]


@admin.register(Dataset)
class DatasetAdmin(ServiceModelAdmin):
    list_display = ["name", "version", "domain", "project_link", "licence", "is_public", "file_count", is_active]
    list_filter = [
        ("domain", DomainFilter),
        SoftDeleteStateFilter,
        "is_public",
        ("project__team", admin.RelatedOnlyFieldListFilter),
        "licence",
    ]
    list_select_related = ["domain", "licence", "project__team"]
    search_fields = ["name", "description", "tags", "creator__username", "project__name", "project__team__name"]
    add_form = DatasetAddForm
    change_fields = ["project", "licence", "is_public", "description", "tags"]  # what may change after creation

    def get_queryset(self, request: HttpRequest) -> QuerySet[Dataset]:
        return super().get_queryset(request).annotate(file_count=related_count(DatasetFile.objects.all(), "dataset"))

    @admin.display(description="files", ordering="file_count")
    def file_count(self, dataset: Dataset) -> int:
        return getattr(dataset, "file_count", 0)  # get_queryset annotates it

    @admin.display(description="project", ordering="project__name")
    def project_link(self, dataset: Dataset) -> str:
        if dataset.project is None:
            return "-"
        return link(change_url(dataset.project), f"{dataset.project.team} / {dataset.project}")

    def get_form(self, request: HttpRequest, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = self.add_form
        return super().get_form(request, obj, change, **kwargs)

    def get_fieldsets(self, request: HttpRequest, obj=None):
        if obj is None:
            return [(None, {"fields": DatasetAddForm.Meta.fields})]
        return [
            (None, {"fields": ["name", "version", "domain", *self.change_fields]}),
            ("Record", {"fields": ["previous_version", "creator", "creation_time", "deletion_time"]}),
            ("Files", {"fields": ["file_table"]}),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        if obj is None:
            return []
        return [
            "name",
            "version",
            "domain",
            "previous_version",
            "creator",
            "creation_time",
            "deletion_time",
            "file_table",
        ]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "project":
            kwargs["queryset"] = Project.objects.select_related("team").order_by("team__name", "name", "pk")
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "project":
            field.label_from_instance = lambda project: labelled(project.team) + " / " + labelled(project)
        return field

    @admin.display(description="files")
    def file_table(self, dataset: Dataset) -> str:
        domain_name = dataset.domain.name if dataset.domain is not None else None
        archive = reverse("dataset-download", kwargs={"pk": dataset.pk})
        table = related_table(
            rows=DatasetFile.objects.filter(dataset=dataset).order_by("filename"),
            columns=file_columns(domain_name),
            what="files",
            all_url=f"{reverse('admin:workspaces_datasetfile_changelist')}?dataset__id__exact={dataset.pk}",
        )
        return link(archive, "Download every file (zip)") + table

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        # The files go with their dataset (the service removes them): no permission of their own needed,
        # though their pages are read-only.
        perms_needed.discard(DatasetFile._meta.verbose_name)
        return deleted, counts, perms_needed, protected

    def service_create(self, request, form) -> Dataset:
        fields = {name: form.cleaned_data[name] for name in DatasetAddForm.Meta.fields}
        return dataset_create(creator=request.user, **fields)

    def service_update(self, request, obj: Dataset, changes) -> Dataset:
        return dataset_update(dataset=obj, user=request.user, **changes)

    def service_soft_delete(self, obj: Dataset) -> Dataset:
        return dataset_soft_delete(dataset=obj)

    def service_reinstate(self, obj: Dataset) -> Dataset:
        return dataset_reinstate(dataset=obj)

    def service_hard_delete(self, obj: Dataset) -> None:
        dataset_hard_delete(dataset=obj)


class DomainDatasetAdmin(DatasetAdmin):
    """One domain's datasets (a proxy model per domain, so each has its page in the admin index); adding
    one here makes it of that domain."""

    list_filter = [f for f in DatasetAdmin.list_filter if not (isinstance(f, tuple) and f[0] == "domain")]

    def domain(self):
        return Domain.objects.filter(name=self.model.domain_name).first()

    def get_fieldsets(self, request: HttpRequest, obj=None):
        if obj is None:
            return [(None, {"fields": [name for name in DatasetAddForm.Meta.fields if name != "domain"]})]
        return super().get_fieldsets(request, obj)

    def service_create(self, request, form) -> Dataset:
        fields = {name: form.cleaned_data.get(name) for name in DatasetAddForm.Meta.fields}
        fields["domain"] = self.domain()
        if fields["domain"] is None:
            raise InvalidRequest(
                problems=[Problem(path="domain", code="domain_not_seeded", message="run seed_catalogue first")]
            )
        return dataset_create(creator=request.user, **fields)


for proxy in DOMAIN_DATASET_PROXIES:
    admin.site.register(proxy, DomainDatasetAdmin)


@admin.register(DatasetFile)
class DatasetFileAdmin(ReadOnlyModelAdmin):
    """Every file of every dataset (a dataset's page shows its first files and links here for all)."""

    list_display = ["filename", "dataset", "size", "handle", "creation_time", "download"]
    list_filter = [("dataset__domain", DomainFilter)]
    list_select_related = ["dataset"]
    search_fields = ["filename", "=handle", "dataset__name"]
    fields = readonly_fields = (
        "dataset",
        "filename",
        "size",
        "handle",
        "metadata",
        "categories",
        "transcription",
        "download",
    )

    @admin.display(description="download")
    def download(self, datafile: DatasetFile) -> str:
        return link(download_url(datafile), "download")

    @admin.display(description="categories")
    def categories(self, datafile: DatasetFile) -> str:
        return file_categories(datafile) or "-"

    @admin.display(description="transcription")
    def transcription(self, datafile: DatasetFile) -> str:
        return file_transcription(datafile) or "-"
