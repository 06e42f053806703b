"""``/v1/job-templates``: list, retrieve, import/validate/export, matching, parameters, types, graph.

Templates come in through import only (create/update answer 403); soft delete, reinstate and hard
delete are for admins; everything else is for authenticated users who can see the template (scope),
and an invisible template answers 404 as if it did not exist.
"""

from __future__ import annotations

from functools import cached_property

from django.http import Http404, HttpResponse
from django.http.response import HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.renderers import bytes_response
from config.api.viewsets import ResourceViewSet, SoftDeleteMixin, request_json_object
from config.api.windows import WINDOW_PARAMETERS, array_response, bytes_stream_response, window_from
from config.errors import MalformedRequest, Problem
from config.jsonbytes import dumps
from contracts.contracts import CONTRACTS
from contracts.types import TypeParseError, parse_type
from jobtemplates.api.jobs import CreateJobMixin
from jobtemplates.api.serializers import TemplateSerializer, template_representation
from jobtemplates.filters import TEMPLATE_FILTER_FIELDS
from jobtemplates.graph_svg import render_graph_svg
from jobtemplates.representations import (
    kept_part,
    kept_rows,
    listed_rows,
    parameters_answer,
    template_answer,
    template_chunks,
)
from jobtemplates.representations.single import OneTemplate, template_one
from jobtemplates.selectors import template_list, template_matching, template_visible_to
from jobtemplates.services.runnability import draft_verdict, runnability, templates_by_runnability
from jobtemplates.services.templates import (
    template_hard_delete,
    template_import,
    template_reinstate,
    template_soft_delete,
    template_validate,
)
from runners.capabilities import Fleet

IMPORT_BODY = {
    "type": "object",
    "description": "A template in the import format (http-api.md §3.3): workable (specific.job_type, "
    "executor_class, required_packages, parameters; ours: queue, min_hardware_generation) or meta "
    "(specific.nodes, specific.dependencies).",
}
RUNNABLE_PARAMETER = OpenApiParameter(
    "runnable",
    bool,
    description="only templates that a live worker or node can run now (true), or that nothing can (false)",
)


def runnable_param(request: Request) -> bool | None:
    """``?runnable=true|false``, or None when not given."""
    raw = request.query_params.get("runnable")
    if raw is None or raw == "":
        return None
    lowered = raw.lower()
    if lowered in {"1", "true", "yes"}:
        return True
    if lowered in {"0", "false", "no"}:
        return False
    raise MalformedRequest(
        problems=[Problem(path="query.runnable", code="wrong_type", message="runnable must be true or false")]
    )


@extend_schema_view(
    list=extend_schema(parameters=[RUNNABLE_PARAMETER]),
    filter_list=extend_schema(parameters=[RUNNABLE_PARAMETER]),
)
class JobTemplateViewSet(CreateJobMixin, SoftDeleteMixin, ResourceViewSet):
    """Job templates: workable ones run an executor under a contract; meta-templates are graphs of them.
    Each says whether anything can run its jobs now (``runnable``, ``runnable_by``, ``not_runnable_reason``)."""

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
    light_actions = frozenset({"destroy", "reinstate", "create_job"})
    # Answers written from kept bytes (jobtemplates.representations): action → the kept parts they read.
    kept_actions = {
        "list": ("detail",),
        "filter_list": ("detail",),
        "retrieve": ("detail",),
        "get_all_parameters": ("parameters",),
        "get_types": ("types",),
        "get_outputs": ("outputs",),
        "export": ("export",),
    }

    def get_queryset(self):
        if self.action in self.kept_actions:
            return kept_rows(template_visible_to(user=self.request.user), parts=self.kept_actions[self.action])
        if self.action in self.light_actions:
            return template_visible_to(user=self.request.user)
        return template_list(user=self.request.user)

    @cached_property
    def fleet(self) -> Fleet:
        """The live workers and nodes, one snapshot per request (every verdict of an answer reads it; kept
        for FLEET_SNAPSHOT_SECONDS across requests of this process: runners.capabilities)."""
        return Fleet.snapshot()

    def list_queryset(self, *, include_inactive: bool):
        """The lists' rows; ``?runnable=`` keeps those whose verdict matches (before pagination)."""
        queryset = super().list_queryset(include_inactive=include_inactive)
        runnable = runnable_param(self.request)
        if runnable is not None:
            queryset = templates_by_runnability(queryset, runnable=runnable, fleet=self.fleet)
        return queryset

    def get_serializer(self, *args, **kwargs):
        """What is represented is judged against one fleet snapshot (a list: in constant queries)."""
        if args and args[0] is not None:
            many = kwargs.get("many", False)
            templates = list(args[0]) if many else [args[0]]
            kwargs["context"] = {**self.get_serializer_context(), "verdicts": runnability(templates, fleet=self.fleet)}
            args = (templates if many else args[0], *args[1:])
        return super().get_serializer(*args, **kwargs)

    def represent(self, template) -> dict:
        return template_representation(template, verdict=runnability([template], fleet=self.fleet)[template.pk])

    def array_answer(self, rows, *, window, total):
        """The lists' arrays from kept bytes, streamed a chunk at a time (config.api.windows.array_response)."""
        chunks = template_chunks(listed_rows(rows), fleet=self.fleet)
        return array_response(self.request, chunks, window=window, total=total)

    def page_answer(self, page):
        """A page of the GET list in DRF's envelope, its results from kept bytes."""
        paginator = self.paginator
        opening = b"".join(
            (
                b'{"count":',
                str(paginator.page.paginator.count).encode(),
                b',"next":',
                dumps(paginator.get_next_link()),
                b',"previous":',
                dumps(paginator.get_previous_link()),
                b',"results":[',
            )
        )
        return bytes_stream_response(self.request, template_chunks(page, fleet=self.fleet), opening, b"]}")

    def kept_object(self, part: str) -> OneTemplate:
        """The template of the URL with its kept ``part``, in one statement (404 when the caller cannot
        see it): what ``get_object`` would find, without compiling a queryset per request."""
        template = template_one(pk=self.kwargs.get(self.lookup_field), user=self.request.user, part=part)
        if template is None:
            raise Http404("No JobTemplate matches the given query.")
        return template

    def retrieve(self, request: Request, pk=None) -> HttpResponseBase:
        """A template, soft-deleted ones included (with ``deletion_time`` set)."""
        return bytes_response(request, template_answer(self.kept_object("detail"), fleet=self.fleet))

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
        assert result.template is not None  # an import that did not raise made or found its template
        template = template_list(user=request.user).get(pk=result.template.pk)
        body = self.represent(template)
        if result.warnings:
            body["warnings"] = [warning.as_dict() for warning in result.warnings]
        return Response(body)

    @extend_schema(request={"application/json": IMPORT_BODY}, responses=TemplateSerializer)
    @action(detail=False, methods=["post"], url_path="validate", url_name="validate")
    def validate(self, request: Request) -> Response:
        """Check an import body and answer what import would, saving nothing (``pk`` is null for a new
        template, or the pk of the identical existing one)."""
        result = template_validate(data=request_json_object(request))
        if result.template is None:
            body = template_representation(None, result.draft, verdict=draft_verdict(result.draft, fleet=self.fleet))
        else:
            body = self.represent(result.template)
        body["warnings"] = [warning.as_dict() for warning in result.warnings]
        body["would_create"] = result.created
        return Response(body)

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"], url_path="export", url_name="export")
    def export(self, request: Request, pk=None) -> HttpResponseBase:
        """The template in the import format; importing it (without its version) gives it back."""
        return bytes_response(request, kept_part(self.kept_object("export"), "export"))

    # --- reads --------------------------------------------------------------------------------------

    @extend_schema(
        parameters=[
            OpenApiParameter("{input}", str, description="an input of the contract: its type string"),
            RUNNABLE_PARAMETER,
            *WINDOW_PARAMETERS,
        ],
        responses=TemplateSerializer(many=True),
    )
    @action(
        detail=False, methods=["get"], url_path=r"get-all-matching-templates/(?P<contract>[^/]+)", url_name="matching"
    )
    def matching(self, request: Request, contract: str) -> HttpResponseBase:
        """Active, visible templates of a contract (``Train``, ``Predict``, ``Export``) whose inputs accept
        each given type (query: ``?dataset=PK<Dataset<Domain<'Image Classification'>>>``); ``?runnable=true``
        keeps only those that a live worker or node can run now. ``?limit=&offset=`` answer a window of the
        array (in pk order; X-Total-Count: how many match in all)."""
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
        runnable = runnable_param(request)
        problems, inputs = [], {}
        window = None
        try:
            window = window_from(request)
        except MalformedRequest as error:
            problems.extend(error.problems)
        for name, text in request.query_params.items():
            if name in ("runnable", "limit", "offset"):
                continue
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
                inputs[name] = parse_type(str(text))
            except TypeParseError as error:
                problems.append(Problem(path, "unparseable_type", str(error)))
        if problems:
            raise MalformedRequest(problems=problems)
        matching = template_matching(user=request.user, contract=contract, inputs=inputs)
        if runnable is not None:
            # Verdicts of the light rows first, so that a window counts only the kept templates.
            matching = templates_by_runnability(matching, runnable=runnable, fleet=self.fleet)
        rows, total = kept_rows(matching).order_by("pk"), None
        if window is not None:
            total = rows.count()
            rows = window.slice(rows)
        chunks = template_chunks(listed_rows(rows), fleet=self.fleet)
        return array_response(request, chunks, window=window, total=total)

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"], url_path="get-all-parameters", url_name="parameters")
    def get_all_parameters(self, request: Request, pk=None) -> HttpResponseBase:
        """Every parameter with the JSON schema of each allowed type and of its default. Schemas of
        ``PK``/``Name``/``JobOutput`` types list the rows you can see."""
        return bytes_response(request, parameters_answer(self.kept_object("parameters"), user=request.user))

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"], url_path="get-types", url_name="types")
    def get_types(self, request: Request, pk=None) -> HttpResponseBase:
        """The contract's type arguments by parameter name (a meta-template's derived contract's)."""
        return bytes_response(request, kept_part(self.kept_object("types"), "types"))

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"], url_path="get-outputs", url_name="outputs")
    def get_outputs(self, request: Request, pk=None) -> HttpResponseBase:
        """Output name → type string (a meta-template surfaces its children's as ``child:output``)."""
        return bytes_response(request, kept_part(self.kept_object("outputs"), "outputs"))

    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=["json", "svg"])],
        responses={(200, "application/json"): OpenApiTypes.OBJECT, (200, "image/svg+xml"): OpenApiTypes.STR},
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
