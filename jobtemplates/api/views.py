"""``/v1/job-templates``: list, retrieve, import/validate/export, matching, parameters, types, graph.

Templates come in through import only (create/update answer 403); soft delete, reinstate and hard
delete are for admins; everything else is for authenticated users who can see the template (scope),
and an invisible template answers 404 as if it did not exist.
"""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.viewsets import ResourceViewSet, SoftDeleteMixin, request_json_object
from config.errors import MalformedRequest, Problem
from contracts.contracts import CONTRACTS
from contracts.types import TypeParseError, parse_type
from jobtemplates.api.jobs import CreateJobMixin
from jobtemplates.api.serializers import TemplateSerializer, parameters_representation, template_representation
from jobtemplates.filters import TEMPLATE_FILTER_FIELDS
from jobtemplates.graph_svg import render_graph_svg
from jobtemplates.selectors import template_list, template_matching, template_visible_to
from jobtemplates.services.templates import (
    template_export,
    template_hard_delete,
    template_import,
    template_reinstate,
    template_soft_delete,
    template_validate,
)

IMPORT_BODY = {
    "type": "object",
    "description": "A template in the import format (http-api.md §3.3): workable (specific.job_type, "
    "executor_class, required_packages, parameters) or meta (specific.nodes, specific.dependencies).",
}


class JobTemplateViewSet(CreateJobMixin, SoftDeleteMixin, ResourceViewSet):
    """Job templates: workable ones run an executor under a contract; meta-templates are graphs of them."""

    serializer_class = TemplateSerializer
    filter_fields = TEMPLATE_FILTER_FIELDS
    query_filters = {
        "name": "name",
        "domain": "domain.name",
        "scope": "scope",
        "kind": "kind",
        "version": "version",
        "contract": "contract_name",
    }
    admin_actions = frozenset({"destroy", "hard", "reinstate", "import_template", "validate", "export"})
    denied_actions = frozenset({"create", "create_compat", "update", "partial_update"})
    denied_message = (
        "Templates are never created or changed in place: import them (POST /v1/job-templates/import, admins); "
        "a changed template is imported as its next version."
    )
    # Reads of stored columns only: no need to prefetch parameters, nodes and edges.
    light_actions = frozenset({"get_types", "get_outputs", "destroy", "reinstate", "create_job"})

    def get_queryset(self):
        if self.action in self.light_actions:
            return template_visible_to(user=self.request.user)
        return template_list(user=self.request.user)

    def retrieve(self, request: Request, pk=None) -> Response:
        """A template, soft-deleted ones included (with ``deletion_time`` set)."""
        return Response(template_representation(self.get_object()))

    # --- templates only come in through import ------------------------------------------------------

    @extend_schema(exclude=True)
    def create(self, request: Request) -> Response:  # pragma: no cover - refused by ActionPermissions
        raise AssertionError("denied")

    @extend_schema(exclude=True)
    @action(detail=False, methods=["post"], url_path="create", url_name="create-compat")
    def create_compat(self, request: Request) -> Response:  # pragma: no cover - refused by ActionPermissions
        raise AssertionError("denied")

    @extend_schema(exclude=True)
    def update(self, request: Request, pk=None) -> Response:  # pragma: no cover - refused by ActionPermissions
        raise AssertionError("denied")

    @extend_schema(exclude=True)
    def partial_update(self, request: Request, pk=None) -> Response:  # pragma: no cover
        raise AssertionError("denied")

    # --- lifecycle ----------------------------------------------------------------------------------

    def perform_soft_delete(self, instance) -> None:
        template_soft_delete(template=instance)

    def perform_reinstate(self, instance):
        return template_reinstate(template=instance)

    def perform_hard_delete(self, instance) -> None:
        template_hard_delete(template=instance)

    # --- import / validate / export -----------------------------------------------------------------

    @extend_schema(request={"application/json": IMPORT_BODY}, responses=TemplateSerializer)
    @action(detail=False, methods=["post"], url_path="import", url_name="import")
    def import_template(self, request: Request) -> Response:
        """Import a template (admins). No version → the next one; an existing version with identical
        content → that template; with different content → 409. Every problem is reported with its path;
        warnings (e.g. an executor class not installed on this server) come back under ``warnings``."""
        result = template_import(data=request_json_object(request), creator=request.user)
        template = template_list(user=request.user).get(pk=result.template.pk)
        body = template_representation(template)
        if result.warnings:
            body["warnings"] = [warning.as_dict() for warning in result.warnings]
        return Response(body)

    @extend_schema(request={"application/json": IMPORT_BODY}, responses=TemplateSerializer)
    @action(detail=False, methods=["post"], url_path="validate", url_name="validate")
    def validate(self, request: Request) -> Response:
        """Check an import body and answer what import would, saving nothing (``pk`` is null for a new
        template, or the pk of the identical existing one)."""
        result = template_validate(data=request_json_object(request))
        body = template_representation(result.template, result.draft if result.template is None else None)
        body["warnings"] = [warning.as_dict() for warning in result.warnings]
        body["would_create"] = result.created
        return Response(body)

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"], url_path="export", url_name="export")
    def export(self, request: Request, pk=None) -> Response:
        """The template in the import format; importing it (without its version) gives it back."""
        return Response(template_export(template=self.get_object()))

    # --- reads --------------------------------------------------------------------------------------

    @extend_schema(
        parameters=[OpenApiParameter("{input}", str, description="an input of the contract: its type string")],
        responses=TemplateSerializer(many=True),
    )
    @action(
        detail=False, methods=["get"], url_path=r"get-all-matching-templates/(?P<contract>[^/]+)", url_name="matching"
    )
    def matching(self, request: Request, contract: str) -> Response:
        """Active, visible templates of a contract (``Train``, ``Predict``, ``Export``) whose inputs accept
        each given type (query: ``?dataset=PK<Dataset<Domain<'Image Classification'>>>``)."""
        declaration = CONTRACTS.get(contract)
        if declaration is None:
            raise MalformedRequest(
                problems=[
                    Problem(
                        path="contract",
                        code="unknown_contract",
                        message=f"unknown contract {contract!r}; known: {', '.join(CONTRACTS)}",
                    )
                ]
            )
        problems, inputs = [], {}
        for name, text in request.query_params.items():
            path = f"query.{name}"
            if name not in declaration.inputs:
                problems.append(
                    Problem(
                        path,
                        "unknown_input",
                        f"{contract} has no input {name!r}; it has: {', '.join(declaration.inputs) or 'none'}",
                    )
                )
                continue
            try:
                inputs[name] = parse_type(text)
            except TypeParseError as error:
                problems.append(Problem(path, "unparseable_type", str(error)))
        if problems:
            raise MalformedRequest(problems=problems)
        templates = template_matching(user=request.user, contract=contract, inputs=inputs)
        return Response([template_representation(template) for template in templates])

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"], url_path="get-all-parameters", url_name="parameters")
    def get_all_parameters(self, request: Request, pk=None) -> Response:
        """Every parameter with the JSON schema of each allowed type and of its default. Schemas of
        ``PK``/``Name``/``JobOutput`` types list the rows you can see."""
        return Response(parameters_representation(self.get_object(), user=request.user))

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"], url_path="get-types", url_name="types")
    def get_types(self, request: Request, pk=None) -> Response:
        """The contract's type arguments by parameter name (a meta-template's derived contract's)."""
        return Response(self.get_object().type_parameters)

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"], url_path="get-outputs", url_name="outputs")
    def get_outputs(self, request: Request, pk=None) -> Response:
        """Output name → type string (a meta-template surfaces its children's as ``child:output``)."""
        return Response(self.get_object().outputs)

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=["json", "svg"])],
        responses={200: OpenApiTypes.OBJECT},
    )
    @action(detail=True, methods=["get"], url_path="graph", url_name="graph")
    def graph(self, request: Request, pk=None):
        """A meta-template's graph: JSON (nodes with their templates, edges), or ``?format=svg``."""
        template = self.get_object()
        if not template.is_meta:
            raise MalformedRequest(
                f"{template} is a workable template; only meta-templates have a graph.", code="not_meta"
            )
        picture = request.query_params.get("format", "json")
        if picture not in ("json", "svg"):
            raise MalformedRequest(problems=[Problem("query.format", "invalid_choice", "format is json or svg")])
        if picture == "svg":
            return HttpResponse(render_graph_svg(template), content_type="image/svg+xml")
        return Response(template_graph_json(template))


def template_graph_json(template) -> dict:
    return {
        "nodes": {
            node.name: {
                "template": {
                    "pk": node.child.pk,
                    "name": node.child.name,
                    "version": node.child.version,
                    "kind": node.child.kind,
                },
                "parameter_default_overrides": node.parameter_default_overrides,
            }
            for node in template.node_list()
        },
        "dependencies": [
            {"from_node": d.from_node, "from_output": d.from_output, "to_node": d.to_node, "to_input": d.to_input}
            for d in template.dependency_list()
        ],
        "inputs": template.inputs,
        "outputs": template.outputs,
    }
