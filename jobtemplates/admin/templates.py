"""The templates' admin for curators: browse templates, see parameters and graphs, import/export, soft
delete/reinstate.

Templates are never edited in place (a new version is imported instead), so their pages are read-only;
"Import a template" takes a JSON file or pasted JSON and shows every problem with its path.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from config.admin_base import ReadOnlyInline, SoftDeleteStateFilter, is_active
from config.errors import ApplicationError
from jobtemplates.admin_changelist import TemplateChangelistColumns, TemplateUseFilter
from jobtemplates.graph_svg import render_graph_svg
from jobtemplates.models import (
    JobTemplate,
    MetaDependency,
    MetaNode,
    MetaTemplate,
    Parameter,
    WorkableTemplate,
)
from jobtemplates.selectors import template_list
from jobtemplates.services.templates import (
    template_export,
    template_import,
    template_reinstate,
    template_soft_delete,
)


class ImportForm(forms.Form):
    file = forms.FileField(required=False, help_text="a template JSON file (import format, http-api.md §3.3)")
    text = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 14, "cols": 100}), help_text="…or paste the JSON here"
    )

    def clean(self):
        cleaned = super().clean()
        upload, text = cleaned.get("file"), cleaned.get("text")
        if not upload and not text:
            raise forms.ValidationError("Choose a file or paste a template.")
        raw = upload.read().decode("utf-8", errors="replace") if upload else text
        try:
            cleaned["body"] = json.loads(raw)
        except json.JSONDecodeError as error:
            raise forms.ValidationError(f"Not valid JSON: {error}") from error
        return cleaned


class ParameterInline(ReadOnlyInline):
    model = Parameter
    fields = readonly_fields = ("name", "types", "help", "has_default", "default", "default_type", "const")


class MetaNodeInline(ReadOnlyInline):
    model = MetaNode
    fk_name = "template"
    fields = readonly_fields = ("name", "child", "parameter_default_overrides")


class MetaDependencyInline(ReadOnlyInline):
    model = MetaDependency
    fields = readonly_fields = ("from_node", "from_output", "to_node", "to_input")


@admin.action(description="Soft delete the selected templates")
def soft_delete_templates(modeladmin, request, queryset):
    for template in queryset:
        template_soft_delete(template=template)
    modeladmin.message_user(request, f"Soft-deleted {queryset.count()} template(s).", messages.SUCCESS)


@admin.action(description="Reinstate the selected templates")
def reinstate_templates(modeladmin, request, queryset):
    for template in queryset:
        try:
            template_reinstate(template=template)
        except ApplicationError as error:
            modeladmin.message_user(request, f"{template}: {error.detail}", messages.ERROR)
        else:
            modeladmin.message_user(request, f"{template} reinstated.", messages.SUCCESS)


@admin.action(description="Export the selected templates (JSON)")
def export_templates(modeladmin, request, queryset):
    templates = template_list(user=None).filter(pk__in=queryset.values("pk"))
    exported = [template_export(template=template) for template in templates]
    body = exported[0] if len(exported) == 1 else exported
    filename = f"{exported[0]['name']}-v{exported[0]['version']}.json" if len(exported) == 1 else "templates.json"
    response = HttpResponse(json.dumps(body, indent=2, ensure_ascii=False), content_type="application/json")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class TemplateAdminBase(TemplateChangelistColumns, admin.ModelAdmin):  # type: ignore[misc]  # the mixin's list_display is the ModelAdmin's, typed loosely (its columns are methods)
    # list_display, the order (real templates first) and the columns: TemplateChangelistColumns.
    list_filter = ["kind", TemplateUseFilter, "contract_name", "domain", "scope", SoftDeleteStateFilter]
    search_fields = ["name", "description", "contract", "executor_class"]
    actions = [soft_delete_templates, reinstate_templates, export_templates]
    list_select_related = ["domain"]
    change_list_template = "admin/jobtemplates/template_change_list.html"
    base_fields = [
        "kind",
        "name",
        "version",
        "description",
        "scope",
        "domain",
        "licence",
        "project",
        "creator",
        "creation_time",
        "deletion_time",
        "contract",
        "export_link",
    ]

    @admin.display(description="export")
    def export_link(self, obj: JobTemplate) -> str:
        url = reverse("admin:jobtemplates_jobtemplate_export", args=[obj.pk])
        return format_html('<a class="button" href="{}">Download JSON (import format)</a>', url)

    @admin.display(description="graph")
    def graph_picture(self, obj: JobTemplate) -> str:
        # The SVG is ours: every text in it is XML-escaped by render_graph_svg.
        return mark_safe(f'<div style="overflow:auto">{render_graph_svg(obj)}</div>')  # noqa: S308

    @admin.display(description="inputs (child:input)")
    def derived_inputs(self, obj: JobTemplate) -> str:
        return (
            format_html_join(
                mark_safe("<br>"),
                "<code>{}</code>: {}",
                ((name, ", ".join(types)) for name, types in obj.inputs.items()),
            )
            or "—"
        )

    @admin.display(description="outputs (child:output)")
    def derived_outputs(self, obj: JobTemplate) -> str:
        return format_html_join(mark_safe("<br>"), "<code>{}</code>: {}", obj.outputs.items()) or "—"

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    def has_add_permission(self, request) -> bool:
        return False  # templates come in through "Import a template"

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "show_save": False,
            "show_save_and_continue": False,
            "show_save_and_add_another": False,
        }
        return super().changeform_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        info = self.model._meta.app_label, self.model._meta.model_name
        own = [
            path("import/", self.admin_site.admin_view(self.import_view), name=f"{info[0]}_{info[1]}_import"),
        ]
        if self.model is JobTemplate:
            own.append(
                path(
                    "<int:pk>/export/",
                    self.admin_site.admin_view(self.export_view),
                    name="jobtemplates_jobtemplate_export",
                )
            )
        return own + super().get_urls()

    def import_view(self, request: HttpRequest):
        if not request.user.is_staff:
            return HttpResponse(status=403)
        form = ImportForm(request.POST or None, request.FILES or None)
        problems: list[dict[str, str]] = []
        warnings: list[dict[str, str]] = []
        if request.method == "POST" and form.is_valid():
            try:
                result = template_import(data=form.cleaned_data["body"], creator=request.user)
            except ApplicationError as error:
                problems = [{"path": p.path or "(body)", "message": p.message} for p in error.problems] or [
                    {"path": "(body)", "message": error.detail}
                ]
            else:
                template = result.template
                assert template is not None  # an import that did not raise made or found its template
                state = "Imported" if result.created else "Already present (identical):"
                self.message_user(request, f"{state} {template} (pk {template.pk}).", messages.SUCCESS)
                for warning in result.warnings:
                    self.message_user(request, f"Warning: {warning.path}: {warning.message}", messages.WARNING)
                return HttpResponseRedirect(reverse("admin:jobtemplates_jobtemplate_change", args=[template.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": "Import a template",
            "form": form,
            "problems": problems,
            "warnings": warnings,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/jobtemplates/import.html", context)

    def export_view(self, request: HttpRequest, pk: int):
        template = get_object_or_404(template_list(user=None), pk=pk)
        exported = template_export(template=template)
        response = HttpResponse(json.dumps(exported, indent=2, ensure_ascii=False), content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="{template.name}-v{template.version}.json"'
        return response


def kind_fields(admin_class: TemplateAdminBase, obj: JobTemplate | None) -> list[str]:
    """The fields a template's page shows: what every template has, then what its kind has."""
    if obj is None:
        return list(admin_class.base_fields)
    if obj.is_meta:
        return [*admin_class.base_fields, "graph_picture", "derived_inputs", "derived_outputs"]
    return [*admin_class.base_fields, "executor_class", "required_packages", "inputs", "outputs"]


def kind_inlines(obj: JobTemplate | None) -> list[type[admin.TabularInline]]:
    if obj is None:
        return []
    return [MetaNodeInline, MetaDependencyInline, ParameterInline] if obj.is_meta else [ParameterInline]


@admin.register(JobTemplate)
class JobTemplateAdmin(TemplateAdminBase):
    """Every template, both kinds; a template's page shows what its kind has (the pages of the two
    proxies below show the same)."""

    def get_fields(self, request, obj=None):
        return kind_fields(self, obj)

    def get_inlines(self, request, obj):
        return kind_inlines(obj)


@admin.register(WorkableTemplate)
class WorkableTemplateAdmin(JobTemplateAdmin):
    list_display: list[Any] = [
        "name_column",
        "version",
        "contract_column",
        "executor_column",
        "domain_column",
        "scope_column",
        is_active,
    ]
    list_filter = [TemplateUseFilter, "contract_name", "domain", "scope", SoftDeleteStateFilter]


@admin.register(MetaTemplate)
class MetaTemplateAdmin(JobTemplateAdmin):
    list_display: list[Any] = [
        "name_column",
        "version",
        "contract_column",
        "domain_column",
        "scope_column",
        "created",
        is_active,
    ]
    list_filter = ["contract_name", "domain", "scope", SoftDeleteStateFilter]
