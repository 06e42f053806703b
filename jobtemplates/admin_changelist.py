"""The templates' changelists in the admin: compact columns that fit a 1400 px screen (full texts in tooltips),
and real templates listed before the built-in test ones, which a "use" filter can also leave out or pick."""

from __future__ import annotations

import re
from typing import Any

from django.contrib import admin
from django.db.models import BooleanField, Case, Q, QuerySet, Value, When
from django.utils import timezone
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import SafeString, mark_safe

from config.admin_base import is_active
from jobtemplates.models import JobTemplate

# The executors of the built-in test templates (fail, noop, stubborn, sleep_train, sleep_predict): they
# exist for the test suite and the benchmarks, not for curators' work. A string, not an import: executors
# depend on jobtemplates, never the other way.
TEST_EXECUTOR_PREFIX = "executors.builtin.testing."


def is_test_template() -> Q:
    """Templates whose executor is a built-in test executor."""
    return Q(executor_class__startswith=TEST_EXECUTOR_PREFIX)


def _is_test_flag() -> Case:
    return Case(When(is_test_template(), then=Value(True)), default=Value(False), output_field=BooleanField())


class TemplateUseFilter(admin.SimpleListFilter):
    """``?use=real`` (every template but the test ones) or ``?use=test`` (only those); neither: all."""

    title = "use"
    parameter_name = "use"

    def lookups(self, request, model_admin):
        return [("real", "real templates"), ("test", "test templates")]

    def queryset(self, request, queryset):
        if self.value() == "real":
            return queryset.exclude(is_test_template())
        if self.value() == "test":
            return queryset.filter(is_test_template())
        return queryset


def _breakable(name: str) -> SafeString:
    """A template name that may wrap after its ``_``, ``-`` and ``.`` (UFDL's names run to 60 characters
    without a space, which would widen the column past the screen)."""
    return mark_safe("<wbr>".join(conditional_escape(part) for part in re.split(r"(?<=[_.-])", name)))  # noqa: S308


class TemplateChangelistColumns:
    """Columns and order of a template changelist (mixed into the template admins)."""

    list_display: list[Any] = [
        "name_column",
        "version",
        "kind",
        "contract_column",
        "domain_column",
        "scope_column",
        "created",
        is_active,
    ]

    def get_queryset(self, request) -> QuerySet[JobTemplate]:
        return super().get_queryset(request).annotate(is_test=_is_test_flag())  # type: ignore[misc]

    def get_ordering(self, request) -> list:
        # Real templates first, then the test ones; each by name, newest version first. An expression, not
        # the annotation's name: ModelAdmin orders the queryset before get_queryset can annotate it.
        return [_is_test_flag().asc(), "name", "-version"]

    @admin.display(description="name", ordering="name")
    def name_column(self, obj: JobTemplate) -> str:
        badge = format_html(' <span class="template-test" title="{}">test</span>', obj.executor_class)
        return format_html(
            '<span title="{}">{}</span>{}',
            obj.description,
            _breakable(obj.name),
            badge if getattr(obj, "is_test", False) else "",
        )

    @admin.display(description="contract", ordering="contract_name")
    def contract_column(self, obj: JobTemplate) -> str:
        if not obj.contract_name:
            return "—"
        return format_html('<span title="{}">{}</span>', obj.contract, obj.contract_name)

    @admin.display(description="domain", ordering="domain__name")
    def domain_column(self, obj: JobTemplate) -> str:
        if obj.domain is None:
            return "—"
        return format_html('<span title="{}">{}</span>', obj.domain.description, obj.domain.name)

    @admin.display(description="scope", ordering="scope")
    def scope_column(self, obj: JobTemplate) -> str:
        """The scope's code (``public``, ``user``, ``project``); who that lets in, in the tooltip."""
        return format_html('<span title="{}">{}</span>', obj.get_scope_display(), obj.scope)

    @admin.display(description="executor", ordering="executor_class")
    def executor_column(self, obj: JobTemplate) -> str:
        """The executor's class name; its module in the tooltip."""
        if not obj.executor_class:
            return "—"
        return format_html('<span title="{}">{}</span>', obj.executor_class, obj.executor_class.rsplit(".", 1)[-1])

    @admin.display(description="created", ordering="creation_time")
    def created(self, obj: JobTemplate) -> str:
        return format_html(
            '<span title="{}">{}</span>', obj.creation_time.isoformat(), timezone.localdate(obj.creation_time)
        )
