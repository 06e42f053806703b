"""The job actions UFDL's job-launcher nodes call (``/v1/jobs/{pk}/acquire``, ``start``, ``progress``,
``finish``, ``release``, ``reset``, and adding outputs), and which jobs a node sees.

A request acts as a node when it carries ``Node-Id`` (runners.api.node_id: the caller's own node). Such
a request sees, besides the jobs its user sees, the queued node jobs its hardware satisfies and the jobs
it holds or ran; its lists (the launcher's poll) hold node jobs only, never Celery-run ones (a launcher
that took one would pip-install this service's modules and fail). The node actions reach every node
job, so that refusals say why (409 taken, 403 not yours) instead of 404. The lifecycle itself is
``jobtemplates.services.jobs.nodes``: an atomic acquire, and only the holding node may act on a job.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import Q, QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.viewsets import request_json_object
from config.errors import MalformedRequest, PermissionDenied, Problem
from contracts.models import Hardware
from jobtemplates.api.job_serializers import JobSerializer, job_representation, output_info
from jobtemplates.models import Job, JobOutput, JobStatus
from jobtemplates.services.jobs.nodes import (
    job_acquire,
    job_finish,
    job_node_output,
    job_node_progress,
    job_release,
    job_reset,
    job_start,
    parse_progress,
)
from runners.api.node_id import NODE_ID_HEADER, request_node
from runners.models import Node
from runners.routing import NODE
from workspaces.api.uploads import uploaded_file

LIST_ACTIONS = frozenset({"list", "filter_list"})
# Actions that act on a node job (the service refuses whoever may not): any node finds any node job
# through them, so a node that lost a race, or whose job was released, hears 409 or 403 saying why, not
# 404. Answers of refusals carry only the job's status and holder; reading a job stays as visible.
NODE_ACTIONS = frozenset({"acquire", "start", "progress", "finish", "release", "reset"})

START_BODY = {
    "type": "object",
    "properties": {
        "send_notification": {"type": "string", "description": "accepted and ignored: the job's own notifications fire"}
    },
    "additionalProperties": False,
}
FINISH_BODY = {
    "type": "object",
    "required": ["success"],
    "properties": {
        "success": {"type": "boolean"},
        "send_notification": {"type": "string", "description": "accepted and ignored"},
        "error": {"type": "string", "nullable": True, "description": "why it failed (with success false)"},
    },
    "additionalProperties": False,
}
PROGRESS_BODY = {"type": "object", "description": 'any data, e.g. {"comment": "Downloaded dataset"}'}
OUTPUT_ANSWER = {
    "type": "object",
    "properties": {
        key: {"type": kind}
        for key, kind in {
            "pk": "integer",
            "job": "integer",
            "name": "string",
            "type": "string",
            "creator": "integer",
            "creation_time": "string",
            "deletion_time": "string",
            "size": "integer",
            "source": "integer",
        }.items()
    },
}


def node_hardware_q(node: Node) -> Q:
    """Jobs whose template's least hardware generation ``node`` satisfies (as
    ``runners.capabilities.node_satisfies`` judges one): none needed, or one whose minimum compute
    capability is at most that of the node's generation. A subquery: no query of its own."""
    needs_nothing = Q(template__min_hardware_generation="")
    generation = node.hardware_generation
    if generation is None:
        return needs_nothing
    satisfied = Hardware.objects.filter(min_compute_capability__lte=generation.min_compute_capability)
    return needs_nothing | Q(template__min_hardware_generation__in=satisfied.values("generation"))


def node_jobs_q(node: Node) -> Q:
    """What a node sees besides its user's jobs: the queued node jobs nobody holds that it can run,
    and the jobs it holds or ran (it keeps seeing a job it finished, whose outputs it uploaded)."""
    queued = Q(runner=NODE, status=JobStatus.CREATED, node__isnull=True, deletion_time__isnull=True)
    return (queued & node_hardware_q(node)) | Q(node=node)


def _body(request: Request, fields: dict[str, tuple[tuple[type, ...], bool]]) -> dict[str, Any]:
    """The JSON object body with exactly ``fields`` (name → (accepted types, required)); every problem
    at once, with its key as path."""
    body = request_json_object(request, empty={})
    if not isinstance(body, dict):
        raise MalformedRequest(problems=[Problem(path="", code="wrong_type", message="the body must be a JSON object")])
    problems = [
        Problem(path=key, code="unknown_key", message=f"unknown key {key!r}; allowed: {', '.join(sorted(fields))}")
        for key in sorted(set(body) - set(fields))
    ]
    for key, (types, required) in fields.items():
        if key not in body:
            if required:
                problems.append(Problem(path=key, code="required", message="this key is required"))
            continue
        if not isinstance(body[key], types):
            names = " or ".join("null" if t is type(None) else {bool: "a boolean", str: "a string"}[t] for t in types)
            problems.append(Problem(path=key, code="wrong_type", message=f"must be {names}"))
    if problems:
        raise MalformedRequest(problems=problems)
    return body


class NodeJobActionsMixin(viewsets.GenericViewSet):
    """The node actions of the job viewset. The viewset supplies ``get_object`` (through the node-aware
    queryset, ``node_aware_jobs``) and ``representable_jobs`` (the jobs with what a representation reads)."""

    def representable_jobs(self) -> QuerySet:
        raise NotImplementedError("NodeJobActionsMixin needs representable_jobs(): jobs with their outputs/children")

    def node_aware_jobs(self, queryset: QuerySet, *, visible_q: Q | None) -> QuerySet:
        """``queryset`` narrowed for this request: the user's jobs (``visible_q``; None: all, for admins),
        and, with Node-Id, the jobs that node sees; a node's lists hold node jobs only."""
        node = request_node(self.request)
        if node is None:
            return queryset if visible_q is None else queryset.filter(visible_q)
        acting = self.action in NODE_ACTIONS or (self.action == "output" and self.request.method == "POST")
        if acting:  # the services read the job alone; the answer is read again (_answer)
            queryset = queryset.prefetch_related(None)
        if visible_q is not None:
            queryset = queryset.filter(visible_q | (Q(runner=NODE) if acting else node_jobs_q(node)))
        if self.action in LIST_ACTIONS:
            queryset = queryset.filter(runner=NODE)
        return queryset

    def _node(self, what: str) -> Node:
        node = request_node(self.request)
        if node is None:
            raise PermissionDenied(
                f"Only a node may {what} a job: send the {NODE_ID_HEADER} header of a node of yours.",
                code="not_a_node",
            )
        return node

    def _answer(self, job: Job) -> Response:
        return Response(job_representation(self.representable_jobs().get(pk=job.pk), viewer=self.request.user))

    @extend_schema(request=None, responses=JobSerializer)
    @action(detail=True, methods=["get"], url_path="acquire", url_name="acquire")
    def acquire(self, request: Request, pk=None) -> Response:
        """A node takes a queued node job (a GET, as UFDL's launcher sends it). Atomic: of nodes racing
        for one job exactly one wins; the others get 409 ``job_acquired``. 409 too for a job run by
        Celery workers, a started one, a node already holding another job, or hardware too old."""
        node = self._node("acquire")
        return self._answer(job_acquire(job=self.get_object(), node=node))

    @extend_schema(request={"application/json": START_BODY}, responses=JobSerializer)
    @action(detail=True, methods=["post"], url_path="start", url_name="start")
    def start(self, request: Request, pk=None) -> Response:
        """The holding node starts the job it acquired. ``send_notification`` (UFDL's launcher sends
        ``"email"``) is checked to be a string and otherwise ignored: the job's notifications are those
        it was created with (its override, else the server's defaults), as for every job."""
        _body(request, {"send_notification": ((str,), False)})
        node = self._node("start")
        return self._answer(job_start(job=self.get_object(), node=node))

    @extend_schema(
        request={"application/json": PROGRESS_BODY},
        responses=JobSerializer,
        parameters=[OpenApiParameter("fraction", float, OpenApiParameter.PATH, description="0 to 1")],
    )
    @action(detail=True, methods=["post"], url_path=r"progress/(?P<fraction>[^/]+)", url_name="progress")
    def progress(self, request: Request, pk=None, fraction: str = "") -> Response:
        """The holding node's progress: the fraction (0 to 1, as Python prints floats) in the path, any
        data (``comment``…) in the body, kept as the job's ``progress_data``."""
        value = parse_progress(fraction)
        data = request_json_object(request, empty={})
        if not isinstance(data, dict):
            raise MalformedRequest(problems=[Problem(path="", code="wrong_type", message="a JSON object")])
        node = self._node("report progress on")
        return self._answer(job_node_progress(job=self.get_object(), node=node, progress=value, data=data))

    @extend_schema(request={"application/json": FINISH_BODY}, responses=JobSerializer)
    @action(detail=True, methods=["post"], url_path="finish", url_name="finish")
    def finish(self, request: Request, pk=None) -> Response:
        """The holding node ends the job: ``success`` true finishes it once the outputs its contract
        names are uploaded (else it errors, naming the missing ones); false errors it with ``error``.
        ``send_notification`` is accepted and ignored, as on start."""
        body = _body(
            request,
            {"success": ((bool,), True), "send_notification": ((str,), False), "error": ((str, type(None)), False)},
        )
        node = self._node("finish")
        job = job_finish(job=self.get_object(), node=node, success=body["success"], error=body.get("error"))
        return self._answer(job)

    @extend_schema(request=None, responses=JobSerializer)
    @action(detail=True, methods=["delete"], url_path="release", url_name="release")
    def release(self, request: Request, pk=None) -> Response:
        """Give back an acquired job that has not started (its node, or an admin without Node-Id), to be
        acquired again; a job nobody holds is answered as it is. A silent node's job is released by
        the reaper."""
        job = job_release(job=self.get_object(), node=request_node(request), admin=request.user.is_staff)
        return self._answer(job)

    @extend_schema(request=None, responses=JobSerializer)
    @action(detail=True, methods=["delete"], url_path="reset", url_name="reset")
    def reset(self, request: Request, pk=None) -> Response:
        """An errored job back to ``created``, its outputs removed and its node letting go (the node that
        held it, or an admin): what the launcher does with the job it held when it restarted."""
        job = job_reset(job=self.get_object(), node=request_node(request), admin=request.user.is_staff)
        return self._answer(job)

    def add_output(self, request: Request, job: Job, output_name: str, type_string: str) -> Response:
        """``POST …/outputs/{name}/{type}``: the raw body is the output (the type percent-encoded in the
        path). Called by the viewset's output route."""
        node = request_node(request)
        admin = request.user.is_staff
        # Refused before a body of up to JOB_OUTPUT_MAX_BYTES is read (the service checks it again).
        if node is None and not admin:
            raise PermissionDenied(
                f"Only a node (a request with {NODE_ID_HEADER}) or an admin may add outputs to a job.",
                code="not_a_node",
            )
        if node is not None and job.node_id != node.pk:
            raise PermissionDenied(
                f"Job {job.pk} is not held by node {node.pk}; a node may add outputs only to the job it holds.",
                code="not_holder",
            )
        content = uploaded_file(request, limit=settings.JOB_OUTPUT_MAX_BYTES)
        try:
            output = job_node_output(
                job=job, node=node, admin=admin, name=output_name, type_string=type_string, content=content
            )
        finally:
            content.close()
        return Response(added_output_representation(output, creator=request.user.pk))


def added_output_representation(output: JobOutput, *, creator: int | None) -> dict[str, Any]:
    """UFDL's answer to adding an output (``creator``: the user who uploaded it, which we do not
    store), then ours (``size``, ``source``), as ``…/info`` shows them."""
    info = output_info(output)
    return {
        "pk": info["pk"],
        "job": info["job"],
        "name": info["name"],
        "type": info["type"],
        "creator": creator,
        "creation_time": info["creation_time"],
        "deletion_time": info["deletion_time"],
        # ours
        "size": info["size"],
        "source": info["source"],
    }


OUTPUT_POST_SCHEMA = extend_schema(
    methods=["POST"],
    request={"application/data": OpenApiTypes.BINARY},
    responses={200: OUTPUT_ANSWER},
    description="A node adds an output to the job it holds: the raw bytes as the body.",
)
