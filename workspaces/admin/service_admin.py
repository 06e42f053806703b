"""Admin pages whose writes are service calls: adds, changes, deletes, soft deletes and reinstates all go
through the app's services, so the API's rules hold for admins too. A refused call (a 409, 422, …)
comes back as errors on the form that asked for it, or as an error message for an action; never a 500,
and nothing of the refused submission is kept."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected as confirm_delete_selected
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import reverse

from config.errors import ApplicationError

REFUSAL = "workspaces_admin_refusal"  # the request attribute that carries a refusal into the re-render


class ServiceRefused(Exception):
    """A service call of an admin save was refused; ``error`` belongs on the form with ``prefix`` (None:
    the page's own form, else an inline's form such as ``memberships-0``)."""

    def __init__(self, error: ApplicationError, prefix: str | None = None) -> None:
        super().__init__(error.detail)
        self.error = error
        self.prefix = prefix


def describe(error: ApplicationError) -> str:
    """An error as one line for a message: its detail, then what its problems add."""
    extra = [problem.message for problem in error.problems if problem.message not in error.detail]
    return f"{error.detail} ({'; '.join(extra)})" if extra else error.detail


def show_on_form(form: forms.BaseForm, error: ApplicationError, field_of: Mapping[str, str]) -> None:
    """Put ``error`` on ``form``: on the field its one problem names, else above the form (with each
    problem that names a field on that field too)."""
    located = [
        (field_of.get(problem.path, problem.path), problem)
        for problem in error.problems
        if field_of.get(problem.path, problem.path) in form.fields
    ]
    if len(error.problems) == 1 and located:
        name, problem = located[0]
        # A class's default detail ("The request is invalid.") says less than the problem itself.
        form.add_error(name, problem.message if error.detail == type(error).default_detail else error.detail)
        return
    form.add_error(None, error.detail)
    for name, problem in located:
        form.add_error(name, problem.message)


def refusal_form(form_class: type[forms.BaseForm], refused: ServiceRefused, field_of: Mapping[str, str]):
    """``form_class`` whose form with the refused prefix carries the refusal's errors."""

    class Refused(form_class):  # type: ignore[valid-type, misc]
        def clean(self):
            cleaned = super().clean()
            if self.prefix == refused.prefix:
                show_on_form(self, refused.error, field_of)
            return cleaned

    Refused.__name__ = Refused.__qualname__ = form_class.__name__
    return Refused


def take_over(target: models.Model, saved: models.Model) -> None:
    """Make ``target`` (the instance the admin view holds) the row a service saved as ``saved``."""
    if saved is target:
        return
    for field in saved._meta.concrete_fields:
        setattr(target, field.attname, getattr(saved, field.attname))
    target._state.adding = False
    target._state.db = saved._state.db


class ServiceInlineMixin:
    """An inline whose rows are saved by service calls (raising ``ServiceRefused`` with the row's form
    prefix): a refusal shows on that row. ``problem_fields`` maps a problem's path to the row's field."""

    problem_fields: Mapping[str, str] = {}
    form: type[forms.BaseForm]  # the inline's own

    def get_formset(self, request: HttpRequest, obj=None, **kwargs):
        refused = getattr(request, REFUSAL, None)
        if refused is not None and refused.prefix is not None:
            kwargs["form"] = refusal_form(kwargs.get("form", self.form), refused, self.problem_fields)
        return super().get_formset(request, obj, **kwargs)  # type: ignore[misc]


class ServiceModelAdmin(admin.ModelAdmin):
    """A model admin whose writes are the ``service_*`` hooks. Saving a form calls ``service_create`` or
    ``service_update`` (with the changed fields only); deleting is ``service_hard_delete``; the actions
    soft-delete and reinstate through ``service_soft_delete`` and ``service_reinstate``.

    A refused save is shown again as posted, with the refusal on the form (on the field its problem
    names; ``problem_fields`` maps a problem's path to a field where the two differ). The view's
    transaction has rolled back by then, so nothing of the submission is kept, inlines included."""

    problem_fields: Mapping[str, str] = {}
    actions = ["soft_delete_selected", "reinstate_selected", "delete_selected"]

    # --- the hooks --------------------------------------------------------------------------------------

    def service_create(self, request: HttpRequest, form: forms.ModelForm) -> models.Model:
        raise NotImplementedError(f"{type(self).__name__} adds rows: define service_create(request, form)")

    def service_update(self, request: HttpRequest, obj: Any, changes: dict[str, Any]) -> models.Model:
        raise NotImplementedError(f"{type(self).__name__} changes rows: define service_update(request, obj, changes)")

    def service_soft_delete(self, obj: Any) -> object:
        raise NotImplementedError(f"{type(self).__name__} soft-deletes rows: define service_soft_delete(obj)")

    def service_reinstate(self, obj: Any) -> object:
        raise NotImplementedError(f"{type(self).__name__} reinstates rows: define service_reinstate(obj)")

    def service_hard_delete(self, obj: Any) -> None:
        raise NotImplementedError(f"{type(self).__name__} deletes rows: define service_hard_delete(obj)")

    # --- saving -----------------------------------------------------------------------------------------

    def save_model(self, request: HttpRequest, obj: models.Model, form: forms.ModelForm, change: bool) -> None:
        try:
            if not change:
                saved = self.service_create(request, form)
            elif form.changed_data:
                # The form has already written its values into ``obj``: the service compares with the row.
                original = self.model._default_manager.get(pk=obj.pk)
                changes = {name: form.cleaned_data[name] for name in form.changed_data}
                saved = self.service_update(request, original, changes)
            else:
                return
        except ApplicationError as error:
            raise ServiceRefused(error) from error
        take_over(obj, saved)

    def changeform_view(self, request: HttpRequest, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ServiceRefused as refused:
            # The view's transaction rolled the submission back: validate it again, with the refusal on
            # the form that asked for it, which shows the page as posted.
            setattr(request, REFUSAL, refused)
            try:
                return super().changeform_view(request, object_id, form_url, extra_context)
            except ServiceRefused as again:  # no form of the page took it: say so, and show the page afresh
                self.message_user(request, describe(again.error), messages.ERROR)
                return HttpResponseRedirect(request.get_full_path())

    def get_form(self, request: HttpRequest, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        refused = getattr(request, REFUSAL, None)
        if refused is not None and refused.prefix is None:
            return refusal_form(form, refused, self.problem_fields)
        return form

    # --- deleting (for good) ----------------------------------------------------------------------------

    def delete_model(self, request: HttpRequest, obj: models.Model) -> None:
        try:
            self.service_hard_delete(obj)
        except ApplicationError as error:
            raise ServiceRefused(error) from error

    def delete_queryset(self, request: HttpRequest, queryset: models.QuerySet) -> None:
        for obj in queryset:
            self.delete_model(request, obj)

    def delete_view(self, request: HttpRequest, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except ServiceRefused as refused:  # the view's transaction rolled back (its log entry too)
            self.message_user(request, describe(refused.error), messages.ERROR)
            opts = self.opts
            return HttpResponseRedirect(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[object_id]))

    @admin.action(permissions=["delete"], description="Delete the selected %(verbose_name_plural)s for good")
    def delete_selected(self, request: HttpRequest, queryset: models.QuerySet):
        """Django's confirmation page, then each row through ``service_hard_delete``; a refused row is
        reported and kept, the others go."""
        if not request.POST.get("post"):
            return confirm_delete_selected(self, request, queryset)
        if self.get_deleted_objects(queryset, request)[2]:  # rows that go along need permissions the user lacks
            raise PermissionDenied
        deleted = 0
        for obj in queryset:
            try:
                with transaction.atomic():
                    self.log_deletions(request, queryset.filter(pk=obj.pk))
                    self.delete_model(request, obj)
            except ServiceRefused as refused:
                self.message_user(request, f"{obj}: {describe(refused.error)}", messages.ERROR)
            else:
                deleted += 1
        self.message_user(request, f"Deleted {deleted} {self.opts.verbose_name}(s) for good.", messages.SUCCESS)
        return None

    # --- soft delete and reinstate ------------------------------------------------------------------------

    @admin.action(description="Soft-delete the selected %(verbose_name_plural)s")
    def soft_delete_selected(self, request: HttpRequest, queryset: models.QuerySet) -> None:
        self._each(request, queryset.filter(deletion_time__isnull=True), self.service_soft_delete, "Soft-deleted")

    @admin.action(description="Reinstate the selected %(verbose_name_plural)s")
    def reinstate_selected(self, request: HttpRequest, queryset: models.QuerySet) -> None:
        self._each(request, queryset.filter(deletion_time__isnull=False), self.service_reinstate, "Reinstated")

    def _each(self, request: HttpRequest, queryset: models.QuerySet, act: Callable[[Any], object], done: str) -> None:
        count = 0
        for obj in queryset:
            try:
                act(obj)
            except ApplicationError as error:
                self.message_user(request, f"{obj}: {describe(error)}", messages.ERROR)
            else:
                count += 1
        self.message_user(request, f"{done} {count} {self.opts.verbose_name}(s).", messages.SUCCESS)
