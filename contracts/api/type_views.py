"""``/v1/job-types`` and ``/v1/job-contracts``: the registered types and contracts, read-only.

The rows mirror the registries in code (synced after migrate). ``get-all-values/{TYPE}`` lists the
rows a server-resident type (or a ``PK``/``Name``/``JobOutput`` type) stands for, as the caller
may see them.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.filterspec import FilterFields
from config.api.viewsets import ResourceViewSet
from config.errors import MalformedRequest, Problem
from contracts.contracts import CONTRACTS
from contracts.models import JobContract, JobType
from contracts.resident import NoResidentBinding, row_values
from contracts.types import Type, TypeParseError, is_abstract, parse_type


class JobTypeSerializer(serializers.ModelSerializer):
    class Meta:
        model = JobType
        fields = ["pk", "name", "pkg", "cls"]
        read_only_fields = fields


class JobContractSerializer(serializers.ModelSerializer):
    class Meta:
        model = JobContract
        fields = ["pk", "name", "pkg", "cls"]
        read_only_fields = fields


class JobContractDetailSerializer(JobContractSerializer):
    signature = serializers.SerializerMethodField(
        help_text="the contract's type parameters (with bounds), inputs (allowed types) and outputs"
    )

    class Meta(JobContractSerializer.Meta):
        fields = [*JobContractSerializer.Meta.fields, "signature"]
        read_only_fields = fields

    def get_signature(self, contract: JobContract) -> dict[str, Any] | None:
        declared = CONTRACTS.get(contract.name)
        # A row left over from a contract removed from code has no signature any more.
        return None if declared is None else declared.signature()


class JobTypeViewSet(mixins.RetrieveModelMixin, ResourceViewSet):
    """The type names of the type language (``str``, ``Array``, ``Dataset``, ``PK`` …), with UFDL's
    package and class names. Read-only."""

    serializer_class = JobTypeSerializer
    filter_fields = FilterFields(JobType, ["pk", "name", "pkg", "cls"])
    query_filters = {"name": "name", "pkg": "pkg", "cls": "cls"}
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return JobType.objects.order_by("pk")

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "type_string",
                OpenApiTypes.STR,
                OpenApiParameter.PATH,
                description="a type-string, URL-encoded, e.g. PK%3CDataset%3CDomain%3C'Speech'%3E%3E%3E",
            )
        ],
        responses={200: {"type": "array", "items": {"type": "object"}}},
    )
    @action(detail=False, methods=["get"], url_path=r"get-all-values/(?P<type_string>.+?)", url_name="get-all-values")
    def get_all_values(self, request: Request, type_string: str) -> Response:
        """The rows of a server-resident type that you can see, each as the JSON value of that row type.

        ``PK<X>`` and ``Name<X>`` answer the rows of ``X`` (a ``PK`` value is a row's ``pk``, a ``Name``
        value its name); ``JobOutput<T>`` answers the visible job outputs whose type is a subtype of
        ``T``. Abstract types (``ServerResidentType``, ``PK<ServerResidentType>``) and types whose
        values are not rows (``int``, ``Array<…>``) are a 400.
        """
        type_ = _parse_type_path(type_string)
        try:
            values = row_values(type_, user=request.user)
        except NoResidentBinding as error:
            raise _not_listable(type_) from error
        return Response(values)


def _not_listable(type_: Type) -> MalformedRequest:
    if is_abstract(type_):
        code, message = "abstract_type", f"{type_} is abstract: its rows cannot be listed; give a concrete type"
    else:
        code, message = (
            "not_server_resident",
            f"values of {type_} are not server rows: give a server-resident type "
            "(Dataset<…>, DockerImage<…>, …) or a PK, Name or JobOutput of one",
        )
    return MalformedRequest(message, code=code, problems=[Problem(path="type", code=code, message=message)])


def _parse_type_path(type_string: str) -> Type:
    try:
        return parse_type(type_string)
    except TypeParseError as error:
        raise MalformedRequest(
            str(error), code=error.code, problems=[Problem(path="type", code=error.code, message=str(error))]
        ) from error


class JobContractViewSet(mixins.RetrieveModelMixin, ResourceViewSet):
    """The job contracts (``Train``, ``Predict``, ``Export``); a single contract also shows its
    ``signature``: type parameters with bounds, inputs with their allowed types, outputs. Read-only."""

    filter_fields = FilterFields(JobContract, ["pk", "name", "pkg", "cls"])
    query_filters = {"name": "name", "pkg": "pkg", "cls": "cls"}
    lookup_value_regex = r"\d+"

    def get_queryset(self):
        return JobContract.objects.order_by("pk")

    def get_serializer_class(self):
        return JobContractDetailSerializer if self.action == "retrieve" else JobContractSerializer
