"""Admin of teams (with their members) and projects, every change through ``workspaces.services.teams``.

A team's page edits its members inline: adding a row adds a member, changing a level updates the
membership, ticking "delete" removes it (the row stays, with its deletion time, listed under "former
members"); each is one ``membership_modify`` call, so its rules hold here too (one active membership
per user and team, no changes to a deleted team). Its projects, and a project's datasets, are listed
read-only with links.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from config.admin_base import SoftDeleteStateFilter, is_active
from config.errors import ApplicationError
from workspaces.admin.counts import related_count
from workspaces.admin.service_admin import ServiceInlineMixin, ServiceModelAdmin, ServiceRefused
from workspaces.admin.tables import Column, counted, link, related_table
from workspaces.models import Dataset, DatasetFile, Membership, Project, Team
from workspaces.services.teams import (
    MembershipMethod,
    membership_modify,
    project_create,
    project_hard_delete,
    project_reinstate,
    project_soft_delete,
    project_update,
    team_create,
    team_hard_delete,
    team_reinstate,
    team_soft_delete,
    team_update,
)


def change_url(obj) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def labelled(obj) -> str:
    """A choice's label, marked when the row is soft-deleted (choosing it is refused by the services)."""
    return f"{obj} (deleted)" if obj.deletion_time is not None else str(obj)


# --- teams -------------------------------------------------------------------------------------------------


class FixedText(forms.Widget):
    """Shows a fixed value as text (the member of an existing membership, which never changes hands)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def render(self, name, value, attrs=None, renderer=None) -> SafeString:
        return format_html("<strong>{}</strong>", self.text)


class MembershipForm(forms.ModelForm):
    """A row of the members inline: the member is chosen on a new row only."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["user"].disabled = True
            self.fields["user"].widget = FixedText(self.instance.user.get_username())


class MembershipInline(ServiceInlineMixin, admin.TabularInline):
    """The team's active members; saved by ``TeamAdmin.save_formset`` through ``membership_modify``."""

    model = Membership
    form = MembershipForm
    fields = ["user", "permissions", "creation_time"]
    readonly_fields = ["creation_time"]
    autocomplete_fields = ["user"]
    extra = 0
    verbose_name = "member"
    verbose_name_plural = "members"
    problem_fields = {"username": "user"}

    def get_queryset(self, request: HttpRequest):
        # The team too: each row's title is ``str(membership)``, which names it.
        return super().get_queryset(request).filter(deletion_time__isnull=True).select_related("user", "team")


def memberships_save(*, request: HttpRequest, formset) -> None:
    """Each change of the members inline as one ``membership_modify`` call: removals first, then level
    changes, then additions (so a member removed and added again in one save is fine). The formset's
    record of what changed is filled in for the admin's history."""
    team = formset.instance
    deleted_forms = formset.deleted_forms
    formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    def modify(member_form, method: str, permissions: str) -> Membership:
        try:
            return membership_modify(
                team=team,
                method=method,
                username=member_form.cleaned_data["user"].get_username(),
                permissions=permissions,
                modifier=request.user,
            )
        except ApplicationError as error:
            raise ServiceRefused(error, prefix=member_form.prefix) from error

    existing = formset.initial_forms
    for member_form in (form for form in existing if form in deleted_forms):
        formset.deleted_objects.append(modify(member_form, MembershipMethod.REMOVE, member_form.initial["permissions"]))
    for member_form in (form for form in existing if form not in deleted_forms):
        if "permissions" in member_form.changed_data:
            changed = modify(member_form, MembershipMethod.UPDATE, member_form.cleaned_data["permissions"])
            formset.changed_objects.append((changed, ["permissions"]))
    for member_form in formset.extra_forms:
        if member_form.has_changed() and member_form not in deleted_forms:
            added = modify(member_form, MembershipMethod.ADD, member_form.cleaned_data["permissions"])
            formset.new_objects.append(added)


@admin.register(Team)
class TeamAdmin(ServiceModelAdmin):
    list_display = ["name", "member_count", "project_count", is_active, "creation_time"]
    list_filter = [SoftDeleteStateFilter]
    search_fields = ["name", "memberships__user__username"]
    inlines = [MembershipInline]

    def get_queryset(self, request: HttpRequest):
        return (
            super()
            .get_queryset(request)
            .annotate(
                active_members=related_count(Membership.objects.active(), "team"),
                active_projects=related_count(Project.objects.active(), "team"),
                all_projects=related_count(Project.objects.all(), "team"),
            )
        )

    @admin.display(description="members", ordering="active_members")
    def member_count(self, team: Team) -> int:
        return getattr(team, "active_members", 0)  # annotated by get_queryset

    @admin.display(description="projects", ordering="active_projects")
    def project_count(self, team: Team) -> str:
        return counted(getattr(team, "active_projects", 0), getattr(team, "all_projects", 0))  # (annotated)

    def get_fieldsets(self, request: HttpRequest, obj=None):
        if obj is None:
            return [(None, {"fields": ["name"]})]
        return [
            (None, {"fields": ["name", "creator", "creation_time", "deletion_time"]}),
            ("Projects", {"fields": ["project_table"]}),
            ("Former members", {"fields": ["former_members"], "classes": ["collapse"]}),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        return ["creator", "creation_time", "deletion_time", "project_table", "former_members"]

    @admin.display(description="projects")
    def project_table(self, team: Team) -> str:
        projects = (
            Project.objects.filter(team=team)
            .annotate(
                active_datasets=related_count(Dataset.objects.active(), "project"),
                all_datasets=related_count(Dataset.objects.all(), "project"),
            )
            .order_by("name", "pk")
        )
        return related_table(
            rows=projects,
            columns=[
                Column("project", lambda project: link(change_url(project), project)),
                Column("datasets", lambda project: counted(project.active_datasets, project.all_datasets)),
                Column("active", is_active, boolean=True),
                Column("created", lambda project: project.creation_time),
            ],
            what="projects",
            all_url=f"{reverse('admin:workspaces_project_changelist')}?team__id__exact={team.pk}",
        )

    @admin.display(description="former members")
    def former_members(self, team: Team) -> str:
        memberships = (
            Membership.objects.filter(team=team, deletion_time__isnull=False)
            .select_related("user")
            .order_by("-deletion_time")
        )
        return related_table(
            rows=memberships,
            columns=[
                Column("user", lambda membership: membership.user.get_username()),
                Column("permissions", lambda membership: membership.permissions),
                Column("member since", lambda membership: membership.creation_time),
                Column("removed", lambda membership: membership.deletion_time),
            ],
            what="former members",
        )

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        if formset.model is Membership:
            memberships_save(request=request, formset=formset)
        else:
            super().save_formset(request, form, formset, change)

    def service_create(self, request, form) -> Team:
        return team_create(name=form.cleaned_data["name"], creator=request.user)

    def service_update(self, request, obj: Team, changes) -> Team:
        return team_update(team=obj, name=changes["name"]) if "name" in changes else obj

    def service_soft_delete(self, obj: Team) -> Team:
        return team_soft_delete(team=obj)

    def service_reinstate(self, obj: Team) -> Team:
        return team_reinstate(team=obj)

    def service_hard_delete(self, obj: Team) -> None:
        team_hard_delete(team=obj)


# --- projects ----------------------------------------------------------------------------------------------


@admin.register(Project)
class ProjectAdmin(ServiceModelAdmin):
    list_display = ["name", "team", "dataset_count", is_active, "creation_time"]
    list_filter = [("team", admin.RelatedOnlyFieldListFilter), SoftDeleteStateFilter]
    list_select_related = ["team"]
    search_fields = ["name", "team__name"]

    def get_queryset(self, request: HttpRequest):
        return (
            super()
            .get_queryset(request)
            .annotate(
                active_datasets=related_count(Dataset.objects.active(), "project"),
                all_datasets=related_count(Dataset.objects.all(), "project"),
            )
        )

    @admin.display(description="datasets", ordering="active_datasets")
    def dataset_count(self, project: Project) -> str:
        return counted(getattr(project, "active_datasets", 0), getattr(project, "all_datasets", 0))  # (annotated)

    def get_fieldsets(self, request: HttpRequest, obj=None):
        if obj is None:
            return [(None, {"fields": ["name", "team"]})]
        return [
            (None, {"fields": ["name", "team", "creator", "creation_time", "deletion_time"]}),
            ("Datasets", {"fields": ["dataset_table"]}),
        ]

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        return ["creator", "creation_time", "deletion_time", "dataset_table"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "team":
            kwargs["queryset"] = Team.objects.order_by("name", "pk")
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name == "team":
            field.label_from_instance = labelled
        return field

    @admin.display(description="datasets")
    def dataset_table(self, project: Project) -> str:
        datasets = (
            Dataset.objects.filter(project=project)
            .select_related("domain", "licence")
            .annotate(file_count=related_count(DatasetFile.objects.all(), "dataset"))
            .order_by("name", "version", "pk")
        )
        return related_table(
            rows=datasets,
            columns=[
                Column("dataset", lambda dataset: link(change_url(dataset), dataset)),
                Column("domain", lambda dataset: dataset.domain),
                Column("licence", lambda dataset: dataset.licence),
                Column("public", lambda dataset: dataset.is_public, boolean=True),
                Column("files", lambda dataset: dataset.file_count),
                Column("active", is_active, boolean=True),
            ],
            what="datasets",
            all_url=f"{reverse('admin:workspaces_dataset_changelist')}?project__id__exact={project.pk}",
        )

    def service_create(self, request, form) -> Project:
        return project_create(name=form.cleaned_data["name"], team=form.cleaned_data["team"], creator=request.user)

    def service_update(self, request, obj: Project, changes) -> Project:
        return project_update(project=obj, user=request.user, name=changes.get("name"), team=changes.get("team"))

    def service_soft_delete(self, obj: Project) -> Project:
        return project_soft_delete(project=obj)

    def service_reinstate(self, obj: Project) -> Project:
        return project_reinstate(project=obj)

    def service_hard_delete(self, obj: Project) -> None:
        project_hard_delete(project=obj)
