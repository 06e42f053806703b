"""Pieces every contracts viewset shares: reading an input body, identity clashes as 409s, and the
base of the admin-edited catalogue resources."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, models, transaction
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.exception_handler import flatten_drf_detail
from config.api.viewsets import ResourceViewSet
from config.errors import Conflict, InvalidRequest, Problem
from config.softdelete import hard_delete

# Problems that mean "the body names a row that does not exist": semantically invalid (422), not malformed.
REFERENCE_CODES = frozenset({"does_not_exist"})


def parse_input(
    serializer_class: type[serializers.Serializer],
    data: Any,
    *,
    instance: models.Model | None = None,
    partial: bool = False,
    context: dict | None = None,
) -> serializers.Serializer:
    """A validated input serializer. Malformed input is a 400 listing every problem; when the only
    problems are rows the body names that do not exist, it is a 422."""
    serializer = serializer_class(instance, data=data, partial=partial, context=context or {})
    if not serializer.is_valid():
        problems = flatten_drf_detail(serializer.errors)
        if problems and all(problem.code in REFERENCE_CODES for problem in problems):
            raise InvalidRequest(problems=problems)
        raise serializers.ValidationError(serializer.errors)
    return serializer


def identity_clashes(model: type[models.Model], values: dict[str, Any], instance: models.Model | None) -> list[Problem]:
    """Problems for each unique field or unconditional unique constraint of ``model`` that another row
    already has with these ``values`` (the instance's own values fill in what ``values`` leaves out)."""
    field_sets: list[tuple[str, ...]] = [
        (field.name,) for field in model._meta.concrete_fields if field.unique and not field.primary_key
    ]
    field_sets += [
        tuple(constraint.fields)
        for constraint in model._meta.constraints
        if isinstance(constraint, models.UniqueConstraint) and constraint.fields and constraint.condition is None
    ]
    problems = []
    for names in field_sets:
        lookup = {}
        for name in names:
            if name in values:
                lookup[name] = values[name]
            elif instance is not None:
                lookup[name] = getattr(instance, name)
        if len(lookup) != len(names):
            continue
        others = model._default_manager.filter(**lookup)
        if instance is not None:
            others = others.exclude(pk=instance.pk)
        if others.exists():
            shown = ", ".join(f"{name}={lookup[name]}" for name in names)
            problems.append(
                Problem(path=names[0] if len(names) == 1 else "", code="duplicate", message=f"{shown} already exists")
            )
    return problems


def save_unique(serializer: serializers.Serializer, **extra: Any) -> models.Model:
    """``serializer.save()``, answering an identity clash (checked first, or lost in a race) with a 409."""
    if not isinstance(serializer, serializers.ModelSerializer):
        raise TypeError(f"{type(serializer).__name__} is not a ModelSerializer: it names no model")
    model: type[models.Model] = serializer.Meta.model
    problems = identity_clashes(model, {**serializer.validated_data, **extra}, serializer.instance)
    if problems:
        raise Conflict(
            f"A {model._meta.verbose_name} with the same identity exists.", code="duplicate", problems=problems
        )
    try:
        with transaction.atomic():
            return serializer.save(**extra)
    except IntegrityError as exc:
        raise Conflict(f"A {model._meta.verbose_name} with the same identity exists.", code="duplicate") from exc


class CatalogueViewSet(mixins.RetrieveModelMixin, ResourceViewSet):
    """A catalogue resource: every authenticated user reads, administrators create, edit and delete.

    Subclasses set ``serializer_class`` (output), optionally ``write_serializer_class`` (input), and
    ``get_queryset`` (a selector). Deleting is for good and refused (409) while anything references the row.
    """

    admin_actions = frozenset({"create", "create_compat", "update", "partial_update", "destroy"})
    lookup_value_regex = r"\d+"
    write_serializer_class: type[serializers.Serializer] | None = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # Document each write action with its input serializer (answers use ``serializer_class``).
        body = getattr(cls, "write_serializer_class", None) or getattr(cls, "serializer_class", None)
        if body is not None:
            writes = {
                name: extend_schema(request=body) for name in ("create", "create_compat", "update", "partial_update")
            }
            extend_schema_view(**writes)(cls)

    def get_write_serializer_class(self) -> type[serializers.Serializer]:
        chosen = self.write_serializer_class or self.serializer_class
        if chosen is None or not issubclass(chosen, serializers.Serializer):
            raise TypeError(f"{type(self).__name__} needs a serializer_class or write_serializer_class")
        return chosen

    def _write(self, request: Request, instance: models.Model | None, *, partial: bool) -> models.Model:
        serializer = parse_input(
            self.get_write_serializer_class(),
            request.data,
            instance=instance,
            partial=partial,
            context=self.get_serializer_context(),
        )
        saved = save_unique(serializer)
        return self.get_queryset().get(pk=saved.pk)  # re-read with the joins the output needs

    def create(self, request: Request, *args, **kwargs) -> Response:
        """Create a row (administrators)."""
        instance = self._write(request, None, partial=False)
        return Response(self.get_serializer(instance).data, status=status.HTTP_201_CREATED)

    @action(detail=False, methods=["post"], url_path="create", url_name="create")
    def create_compat(self, request: Request) -> Response:
        """Create a row (administrators); answers 200 with the row, as UFDL's ``…/create`` does."""
        instance = self._write(request, None, partial=False)
        return Response(self.get_serializer(instance).data)

    def update(self, request: Request, *args, partial: bool = False, **kwargs) -> Response:
        """Replace a row's fields (administrators)."""
        instance = self._write(request, self.get_object(), partial=partial)
        return Response(self.get_serializer(instance).data)

    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        """Change some of a row's fields (administrators)."""
        return self.update(request, *args, partial=True, **kwargs)

    @extend_schema(responses={204: None})
    def destroy(self, request: Request, *args, **kwargs) -> Response:
        """Delete a row for good (administrators); 409 while anything references it."""
        hard_delete(instance=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
