"""Reusable viewset pieces: filter-spec lists, paginated GET lists, soft delete / hard delete / reinstate.

A resource's viewset declares its allow-list (``filter_fields``), its simple query filters
(``query_filters``: query parameter → allowed field) and its visible rows (``get_queryset``, soft-deleted
included); the mixins do the rest the same way for every resource.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponseBase, QueryDict
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.filterspec import FilterFields, parse_filter_spec, parse_query_filters
from config.api.permissions import ActionPermissions
from config.api.windows import WINDOW_PARAMETERS, Window, window_from, windowed_response
from config.errors import MalformedRequest, Problem
from config.softdelete import hard_delete, reinstate, soft_delete


def request_json_object(request: Request, *, empty: Any = None) -> Any:
    """The body as parsed JSON; no body at all gives ``empty``. Form-encoded bodies are refused."""
    data = request.data
    if isinstance(data, QueryDict):
        if data:
            raise MalformedRequest("Send the body as JSON (Content-Type: application/json).", code="expected_json")
        return empty
    return data


def is_soft_deletable(queryset: QuerySet) -> bool:
    return any(field.name == "deletion_time" for field in queryset.model._meta.concrete_fields)


class ResourceViewSet(viewsets.GenericViewSet):
    """Base of every resource: action-level permissions and the two list flavours."""

    permission_classes = [ActionPermissions]
    admin_actions: frozenset[str] = frozenset()
    denied_actions: frozenset[str] = frozenset()
    filter_fields: FilterFields
    # query parameter of GET lists → a name in filter_fields (exact match)
    query_filters: dict[str, str] = {}

    @property
    def allowed_methods(self) -> list[str]:
        """The methods this route serves for this caller (``Allow`` of OPTIONS and 405 answers): not those whose
        action is refused to everyone (``denied_actions``), nor admin actions for anyone but an admin."""
        methods = super().allowed_methods
        action_map = getattr(self, "action_map", None) or {}
        # The caller as already authenticated (never authenticate here: a bad token must not raise now).
        user = getattr(getattr(self, "request", None), "_user", None)
        is_admin = bool(user is not None and user.is_authenticated and user.is_staff)
        refused = {
            method.upper()
            for method, action in action_map.items()
            if action in self.denied_actions or (action in self.admin_actions and not is_admin)
        }
        return [method for method in methods if method not in refused]

    def finalize_response(self, request: Request, response: Response, *args, **kwargs) -> Response:
        response = super().finalize_response(request, response, *args, **kwargs)
        # DRF fills in Allow before authenticating; now the caller is known (or known to be anonymous).
        if response.has_header("Allow"):
            response["Allow"] = ", ".join(self.allowed_methods)
        return response

    def list_queryset(self, *, include_inactive: bool) -> QuerySet:
        """Rows a list shows: the visible ones, soft-deleted ones only when asked for."""
        queryset = self.get_queryset()
        if not include_inactive and is_soft_deletable(queryset):
            queryset = queryset.filter(deletion_time__isnull=True)
        return queryset

    # The body's schema (the filter spec, naming this resource's fields) comes from config.api.schema.
    @extend_schema(
        parameters=WINDOW_PARAMETERS,
        description="List the visible rows matching a filter spec (every key optional). Answers a bare array: "
        "all of it, or with ?limit=&offset= a window of it (X-Total-Count: the rows of the whole list).",
    )
    @action(detail=False, methods=["post"], url_path="list", url_name="filter-list")
    def filter_list(self, request: Request) -> HttpResponseBase:
        window = window_from(request)
        spec = parse_filter_spec(request_json_object(request, empty={}), self.filter_fields)
        queryset = spec.apply(self.list_queryset(include_inactive=spec.include_inactive))
        if window is None:
            return self.array_answer(queryset, window=None, total=None)
        total = queryset.count()
        return self.array_answer(window.slice(queryset), window=window, total=total)

    def array_answer(self, rows: QuerySet, *, window: Window | None, total: int | None) -> HttpResponseBase:
        """The array of ``POST …/list``: the rows serialised (override to write them another way)."""
        data = self.get_serializer(rows, many=True).data
        if window is None or total is None:
            return Response(data)
        return windowed_response(self.request, data, window=window, total=total)

    def page_answer(self, page: list) -> HttpResponseBase:
        """A page of the GET list in the paginator's envelope (override to write it another way)."""
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(
        parameters=[OpenApiParameter("include_inactive", bool, description="include soft-deleted rows")],
        description="Paginated list of the visible rows, with simple exact-match query filters.",
    )
    def list(self, request: Request) -> HttpResponseBase:
        params = request.query_params
        include_inactive = _bool_param(params.get("include_inactive"), "include_inactive")
        queryset = self.list_queryset(include_inactive=include_inactive)
        queryset = parse_query_filters(params, self.query_filters, self.filter_fields).apply(queryset)
        page = self.paginate_queryset(queryset)
        if page is None:
            raise TypeError(f"{type(self).__name__} lists by page: it needs a pagination_class")
        return self.page_answer(page)


def _bool_param(raw: str | None, name: str) -> bool:
    if raw is None or raw == "":
        return False
    lowered = raw.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise MalformedRequest(problems=[Problem(path=f"query.{name}", code="wrong_type", message="must be true or false")])


class SoftDeleteMixin(viewsets.GenericViewSet):
    """``DELETE {pk}`` (soft), ``DELETE {pk}/hard`` and ``DELETE|POST {pk}/reinstate``.

    Override ``perform_soft_delete`` / ``perform_hard_delete`` / ``perform_reinstate`` to call a
    resource's own service (extra checks, cascades); the defaults are the generic ones.
    """

    def perform_soft_delete(self, instance) -> None:
        soft_delete(instance=instance)

    def perform_hard_delete(self, instance) -> None:
        hard_delete(instance=instance)

    def perform_reinstate(self, instance):
        return reinstate(instance=instance)

    @extend_schema(responses={204: None}, description="Soft delete: hide from lists; reinstate brings it back.")
    def destroy(self, request: Request, *args, **kwargs) -> Response:
        self.perform_soft_delete(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, description="Delete for good; 409 (nothing removed) while anything references it.")
    @action(detail=True, methods=["delete"], url_path="hard", url_name="hard")
    def hard(self, request: Request, *args, **kwargs) -> Response:
        instance = self.get_object()
        data = self.get_serializer(instance).data
        self.perform_hard_delete(instance)
        return Response(data)

    @extend_schema(request=None, description="Undo a soft delete; 409 if an active row has the same identity.")
    @action(detail=True, methods=["delete", "post"], url_path="reinstate", url_name="reinstate")
    def reinstate(self, request: Request, *args, **kwargs) -> Response:
        instance = self.perform_reinstate(self.get_object())
        return Response(self.get_serializer(instance).data)
