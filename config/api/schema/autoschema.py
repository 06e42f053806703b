"""Our drf-spectacular AutoSchema and preprocessing hook (see the class docstring for what each corrects)."""

from __future__ import annotations

import copy
from typing import Any

import drf_spectacular.openapi
import uritemplate
from django.conf import settings
from django.db import models
from drf_spectacular.plumbing import ResolvedComponent
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework_simplejwt.views import TokenViewBase

from config.api.filterspec import FilterFields
from config.api.schema.components import (
    ERROR_ENVELOPE_SCHEMA,
    ERROR_ITEM_SCHEMA,
    ERROR_RESPONSES,
    filter_expression_schemas,
)

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


def strip_trailing_slashes(endpoints, **kwargs):
    """drf-spectacular preprocessing hook: ``/v1/users/list/`` → ``/v1/users/list`` (both are served)."""
    return [
        (path.rstrip("/") if path != "/" else path, path_regex, method, callback)
        for path, path_regex, method, callback in endpoints
    ]


def _is_free_form(response: dict | None) -> bool:
    """A documented response whose body is any object (``OpenApiTypes.OBJECT``)."""
    if not response or "content" not in response:
        return False
    schemas = [media.get("schema", {}) for media in response["content"].values()]
    return all(schema.get("type") == "object" and "properties" not in schema for schema in schemas)


def _query_parameter_type(field: models.Field | None) -> type:
    if isinstance(field, models.BooleanField):
        return bool
    if isinstance(field, models.IntegerField | models.AutoField | models.ForeignKey):
        return int
    return str


class AutoSchema(drf_spectacular.openapi.AutoSchema):
    """drf-spectacular's schema, corrected for how our views answer.

    * operation ids tell ``…/metadata`` from ``…/metadata/{filename}``: path variables after the last fixed
      part of a path join the id (``datasets_metadata_by_filename_retrieve``); drf-spectacular drops them
      all, and numbers the collisions instead;
    * only the conventional ``GET`` list is paginated; ``POST …/list`` answers a bare array and takes the
      filter spec (a component per resource, naming its fields);
    * ``GET`` lists document their query filters (``query_filters`` of the viewset);
    * a DELETE other than the soft delete (``hard``, ``reinstate``) answers the row (200), not 204;
    * every operation documents the error responses it can give, each the error envelope (a view's
      ``error_statuses`` adds an action's own: ``{"download": {"501"}}``);
    * a serializer with ``schema_variants`` is documented as one schema per kind (``oneOf``).
    """

    # --- operation ids ------------------------------------------------------------------------------

    def get_operation_id(self) -> str:
        operation_id = super().get_operation_id()
        suffix = [name for name in self._trailing_variables() if name not in ("id", "pk")]
        if not suffix:
            return operation_id
        action = operation_id.rsplit("_", 1)[-1]
        return f"{operation_id[: -len(action) - 1]}_by_{'_'.join(suffix)}_{action}"

    def _trailing_variables(self) -> list[str]:
        parts = self.path.rstrip("/").split("/")
        names: list[str] = []
        while parts and parts[-1].startswith("{"):
            names.insert(0, parts.pop().strip("{}"))
        return names

    # --- lists --------------------------------------------------------------------------------------

    @property
    def _action(self) -> str | None:
        return getattr(self.view, "action", None)

    def _get_paginator(self):
        # Only the conventional GET list paginates; other actions answering many rows answer an array.
        if self._action != "list":
            return None
        return super()._get_paginator()

    def _is_filter_list(self) -> bool:
        return self._action == "filter_list" and hasattr(self.view, "filter_fields")

    def get_response_serializers(self):
        serializer = super().get_response_serializers()
        if self._is_filter_list() and isinstance(serializer, serializers.BaseSerializer | type):
            serializer_class = serializer if isinstance(serializer, type) else type(serializer)
            if issubclass(serializer_class, serializers.BaseSerializer) and not issubclass(
                serializer_class, serializers.ListSerializer
            ):
                return serializer_class(many=True)
        return serializer

    def get_request_serializer(self):
        if self._is_filter_list():
            return {"application/json": self._filter_spec_component().ref}
        return super().get_request_serializer()

    def _filter_spec_component(self) -> ResolvedComponent:
        for name, schema in filter_expression_schemas().items():
            self.registry.register_on_missing(
                ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, schema=schema, object=name)
            )
        fields = getattr(self.view, "filter_fields", None)
        assert isinstance(fields, FilterFields)  # _is_filter_list checked the view has them
        model_name = fields.model.__name__
        allowed = sorted({*fields.names, *fields.aliases, *fields.null_tests})
        limit = getattr(settings, "FILTER_MAX_EXPRESSIONS", None)
        order_limit = getattr(settings, "FILTER_MAX_ORDER_BY", None)
        order_by: dict[str, Any] = {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    # Inside allOf: drf-spectacular's enum hook would merge every resource's into one component.
                    "field": {"allOf": [{"type": "string", "enum": sorted({*fields.names, *fields.aliases})}]},
                    "ascending": {"type": "boolean", "default": True},
                    "nulls_first": {"type": "boolean"},
                },
                "required": ["field"],
                "additionalProperties": False,
            },
        }
        if order_limit:
            order_by["maxItems"] = order_limit
        expressions: dict[str, Any] = {
            "type": "array",
            "items": {"$ref": "#/components/schemas/FilterExpression"},
            "description": "applied in sequence, each narrowing the result"
            + (f"; at most {limit} in all, sub-expressions included (FILTER_MAX_EXPRESSIONS)" if limit else ""),
        }
        if limit:
            expressions["maxItems"] = limit
        schema = {
            "type": "object",
            "description": f"Which rows to list and in what order (every key optional). Fields: {', '.join(allowed)}.",
            "properties": {
                "expressions": expressions,
                "order_by": order_by,
                "include_inactive": {"type": "boolean", "default": False, "description": "include soft-deleted rows"},
            },
            "additionalProperties": False,
        }
        name = f"{model_name}FilterSpec"
        component = ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, schema=schema, object=name)
        self.registry.register_on_missing(component)
        return component

    def _get_request_body(self, direction="request"):
        body = super()._get_request_body(direction)
        if body is not None and self._is_filter_list():
            body["required"] = False  # no body at all is the same request as {}
        return body

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if self._action == "list" and getattr(self.view, "query_filters", None):
            known = {p.name for p in parameters if isinstance(p, OpenApiParameter)}
            fields = getattr(self.view, "filter_fields", None)
            for name, field_name in self.view.query_filters.items():
                if name in known:
                    continue
                field = fields.get(field_name) if fields is not None else None
                parameters.append(
                    OpenApiParameter(
                        name,
                        _query_parameter_type(field.model_field if field else None),
                        description=f"only rows whose `{field_name}` equals this",
                    )
                )
        return parameters

    # --- responses ----------------------------------------------------------------------------------

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if self.method == "DELETE" and self._action not in (None, "destroy") and set(responses) == {"204"}:
            # hard and reinstate answer the row as it was (http-api.md §1).
            serializer = self.get_response_serializers()
            if serializer is not None and not isinstance(serializer, dict):
                return {"200": self._get_response_for_code(serializer, "200", direction=direction)}
        return responses

    def _map_serializer(self, serializer, direction, bypass_extensions=False):
        schema = super()._map_serializer(serializer, direction, bypass_extensions)
        variants = getattr(serializer, "schema_variants", None)
        if not variants or direction != "response" or "properties" not in schema:
            return schema
        discriminator, left_out = variants
        base_name = self._get_serializer_name(serializer, direction)
        branches = {}
        for value, fields in left_out.items():
            branch = copy.deepcopy(schema)
            for name in fields:
                branch["properties"].pop(name, None)
            branch["required"] = [name for name in branch.get("required", []) if name not in fields]
            # Inside allOf: drf-spectacular's enum hook would merge a bare enum into one component per name.
            branch["properties"][discriminator] = {"allOf": [{"type": "string", "enum": [value]}], "readOnly": True}
            component = ResolvedComponent(
                name=f"{value.capitalize()}{base_name}",
                type=ResolvedComponent.SCHEMA,
                schema=branch,
                object=f"{base_name}:{value}",
            )
            self.registry.register_on_missing(component)
            branches[value] = component.ref["$ref"]
        # No ``discriminator``: the branches exclude each other by their ``kind`` alone, and schemathesis
        # (4.32) misreads a mapping to branches whose discriminator property is not a bare enum.
        return {
            "description": schema.get("description", "") + f" One schema per `{discriminator}`.",
            "oneOf": [{"$ref": ref} for ref in branches.values()],
        }

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        # A blank URL, e-mail … is allowed and answered as "": not a "uri", so the format alone would lie.
        if schema and getattr(field, "allow_blank", False) and "format" in schema and schema.get("type") == "string":
            formatted = {key: value for key, value in schema.items() if key not in ("description", "readOnly")}
            outer = {key: value for key, value in schema.items() if key in ("description", "readOnly")}
            return {**outer, "anyOf": [formatted, {"type": "string", "maxLength": 0}]}
        return schema

    # --- errors -------------------------------------------------------------------------------------

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        if operation is None:
            return None
        self._register_error_components()
        responses = operation.setdefault("responses", {})
        for status in self._error_statuses(operation):
            if _is_free_form(responses.get(status)):
                del responses[status]  # every error is the envelope, whatever a decorator said less precisely
            responses.setdefault(status, {"$ref": f"#/components/responses/{ERROR_RESPONSES[status][0]}"})
        operation["responses"] = dict(sorted(responses.items()))
        return operation

    def _requires_authentication(self) -> bool:
        return not all(isinstance(permission, AllowAny) for permission in self.view.get_permissions())

    def _error_statuses(self, operation: dict) -> list[str]:
        # Every route: a malformed request (URL, query, NUL bytes), a URL too long, the database away.
        statuses = {"400", "414", "503"}
        authenticated = self._requires_authentication()
        if authenticated:
            statuses |= {"401", "403"}
        if uritemplate.variables(self.path) or self._action == "list":
            statuses.add("404")  # an unknown or invisible row; a page past the last (GET lists)
        if isinstance(self.view, TokenViewBase):
            statuses.add("401")  # wrong credentials, an invalid or expired token
        if self.method in WRITE_METHODS:
            statuses.add("413")
        if self.method in BODY_METHODS and "requestBody" in operation:
            statuses.add("415")
        statuses |= set(getattr(self.view, "error_statuses", {}).get(self._action, ()))
        if self._is_filter_list():
            return sorted(statuses)  # a read: nothing to conflict with, a filter spec is only ever malformed (400)
        if self.method in WRITE_METHODS and authenticated:
            statuses.add("409")
        if self.method in BODY_METHODS and "requestBody" in operation and authenticated:
            statuses.add("422")
        return sorted(statuses)

    def _register_error_components(self) -> None:
        registry = self.registry
        for name, schema in (("ErrorItem", ERROR_ITEM_SCHEMA), ("ErrorEnvelope", ERROR_ENVELOPE_SCHEMA)):
            registry.register_on_missing(
                ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, schema=schema, object=name)
            )
        for name, description in ERROR_RESPONSES.values():
            registry.register_on_missing(
                ResolvedComponent(
                    name=name,
                    type=ResolvedComponent.RESPONSE,
                    schema={
                        "description": description,
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/ErrorEnvelope"}},
                        },
                    },
                    object=name,
                )
            )
