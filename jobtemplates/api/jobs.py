"""``/v1/jobs`` and ``/v1/job-outputs`` (http-api.md §4.2), and create-job on templates (§3.4).

You see your own jobs and the jobs of templates you can see (admins: all). Cancel is for the job's
creator and admins; abort, delete, hard delete and reinstate for admins. UFDL's job-launcher nodes
drive node jobs through the actions of ``jobtemplates.api.node_actions`` (with ``Node-Id``).
"""

from __future__ import annotations

from django.db.models import Prefetch, Q
from django.http import FileResponse, Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.filterspec import FilterFields
from config.api.viewsets import ResourceViewSet, SoftDeleteMixin, request_json_object
from config.errors import NotFound, PermissionDenied
from contracts.types import TypeParseError, parse_type
from contracts.types.media import file_kind
from jobtemplates.api.job_serializers import (
    JobDescriptionSerializer,
    JobOutputSerializer,
    JobSerializer,
    job_representation,
    may_see_notifications,
    output_info,
)
from jobtemplates.api.node_actions import OUTPUT_POST_SCHEMA, NodeJobActionsMixin
from jobtemplates.models import Job, JobOutput, TemplateKind
from jobtemplates.representations.single import template_instance
from jobtemplates.selectors import job_output_visible_to, job_visible_q
from jobtemplates.services.jobs import (
    job_abort,
    job_cancel,
    job_create,
    job_output_delete,
    job_relaunch,
    meta_job_retry,
)
from jobtemplates.services.jobs.creation import job_create_with_children
from jobtemplates.services.jobs.deletion import job_hard_delete
from jobtemplates.services.jobs.idempotency import (
    IDEMPOTENCY_KEY_HEADER,
    idempotency_key_parse,
    job_create_idempotent,
)
from notifications.api import NotificationDeliverySerializer, job_notifications

CREATE_JOB_BODY = {
    "type": "object",
    "required": ["input_values"],
    "properties": {
        "input_values": {"type": "object", "description": "input name → {value, type}"},
        "parameter_values": {"type": "object", "description": "parameter name → {value, type}"},
        "description": {"type": "string"},
        "notification_override": {"type": "object"},
        "child_notification_overrides": {"type": "object"},
        "queue_anyway": {
            "type": "boolean",
            "default": False,
            "description": "ours: create the job even when nothing can run it now (otherwise a 409 "
            "not_runnable naming the reason); it waits for a node, or for a worker that can run it",
        },
    },
}
# A relaunch's changes: any create-job key, each replacing the job's own (none: the same values again).
RELAUNCH_BODY = {
    "type": "object",
    "properties": CREATE_JOB_BODY["properties"],
    "description": "ours: the create-job keys to change; every other key is the job's own",
}
RETRY_BODY = {
    "type": "object",
    "properties": {
        "parameter_values": {"type": "object", "description": "node:param → {value, type}, for re-run nodes"},
        "notification_override": {"type": "object", "description": "the meta-job's own, from now on"},
        "child_notification_overrides": {"type": "object", "description": "node → override, for re-run nodes"},
    },
    "description": "ours: what changes for the re-run children (nothing: the same values again)",
}
RETRY_PLAN = {
    "type": "object",
    "properties": {
        "job": {"type": "object", "description": "the meta-job as it is (unchanged)"},
        "plan": {
            "type": "object",
            "properties": {
                "rerun": {"type": "array", "items": {"type": "string"}, "description": "nodes re-created"},
                "kept": {"type": "object", "description": "node → its finished child's pk, kept"},
                "reused_outputs": {"type": "object", "description": "node → [{pk, name, type}] its outputs re-used"},
                "superseded": {"type": "object", "description": "node → the pk of the child the retry replaces"},
            },
        },
    },
}
IDEMPOTENCY_KEY_DESCRIPTION = (
    "ours: any string you choose for this request (printable ASCII, at most 255 characters; a UUID is "
    "typical), unique among your requests. Sending it again with the same template and body within "
    "IDEMPOTENCY_KEY_TTL_SECONDS (a day) answers the job the first request made, as it is now, with "
    "`Idempotent-Replayed: true`, instead of creating another, so a request whose answer was lost can "
    "be retried safely; the same key with another template or body is a 409 `idempotency_key_reused`. "
    "A request that failed recorded nothing: its retry is evaluated afresh. Ignored with dry_run."
)
IDEMPOTENT_REPLAYED_HEADER = "Idempotent-Replayed"
# An output's type string may contain anything but must not swallow a trailing "/info".
OUTPUT_ROUTE = r"outputs/(?P<output_name>[^/]+)/(?P<type_string>(?:(?!/info/?$).)+)"


def job_queryset():
    return Job.objects.select_related("template").prefetch_related(
        Prefetch("outputs", queryset=JobOutput.objects.order_by("pk")),
        # The current children (those a retry replaced are jobs of their own, listed with ?parent=).
        Prefetch(
            "children", queryset=Job.objects.filter(superseded_time__isnull=True).only("pk", "parent_id").order_by("pk")
        ),
    )


# An output's bytes, with the media type of its type (contracts.types.media.file_kind).
OUTPUT_DOWNLOAD = OpenApiResponse(
    OpenApiTypes.BINARY,
    description="the output's bytes: text/plain for BLOB<'log'>, text/csv for BLOB<'text/csv'>, image/… for "
    "images, application/json for JSON types, application/zip for Compressed, application/octet-stream else; "
    "Content-Disposition names a file with the matching extension",
)


class CreateJobMixin(viewsets.GenericViewSet):
    """``POST /v1/job-templates/{pk}/create-job`` for the template viewset."""

    @extend_schema(
        request={"application/json": CREATE_JOB_BODY},
        parameters=[
            OpenApiParameter("dry_run", bool, description="check and show the job; create nothing"),
            OpenApiParameter(
                IDEMPOTENCY_KEY_HEADER,
                str,
                location=OpenApiParameter.HEADER,
                description=IDEMPOTENCY_KEY_DESCRIPTION,
            ),
        ],
        responses=JobSerializer,
    )
    @action(detail=True, methods=["post"], url_path="create-job", url_name="create-job")
    def create_job(self, request: Request, pk=None) -> Response:
        """Create a job from this template: every input of its contract with a value of an accepted type,
        parameters (defaults fill the rest), an optional description and notification overrides. All
        problems come back at once (400 when a type string does not parse, 422 otherwise). When nothing
        can run the template now (its ``runnable`` is false) the answer is 409 ``not_runnable`` with the
        reason, unless the body says ``"queue_anyway": true``: the job is then created and waits.

        With an ``Idempotency-Key`` header, a retry (same key, same template and body, within a day) answers
        the job the first request made, as it is now, with ``Idempotent-Replayed: true``; the key with
        another request is a 409 ``idempotency_key_reused``."""
        key = idempotency_key_parse(request.headers.get(IDEMPOTENCY_KEY_HEADER))
        # What get_object would find (the visible template, 404 otherwise), by a statement compiled once.
        template = template_instance(pk=self.kwargs.get("pk"), user=request.user)
        if template is None:
            raise Http404("No JobTemplate matches the given query.")
        dry_run = request.query_params.get("dry_run", "").lower() in {"1", "true", "yes"}
        body = request_json_object(request)
        if dry_run:
            job = job_create(template=template, body=body, creator=request.user, dry_run=True)
            return Response(job_representation(job, viewer=request.user))
        if key is None:
            creation = job_create_with_children(template=template, body=body, creator=request.user)
            # Just created: its row is what was inserted (no outputs yet, these children); no re-read.
            return Response(job_representation(creation.job, viewer=request.user, created_children=creation.children))
        made = job_create_idempotent(template=template, body=body, creator=request.user, key=key)
        headers = {IDEMPOTENT_REPLAYED_HEADER: "true" if made.replayed else "false"}
        if made.replayed:  # the job as it is now
            data = job_representation(job_queryset().get(pk=made.job.pk), viewer=request.user)
        else:
            data = job_representation(made.job, viewer=request.user, created_children=made.children)
        return Response(data, headers=headers)


JOB_FILTER_FIELDS = FilterFields(
    Job,
    [
        "pk",
        "description",
        "status",
        "progress",
        "is_cancelled",
        "start_time",
        "end_time",
        "creation_time",
        "deletion_time",
        "error_reason",
        "child_name",
        "worker",
        "attempts",
        "template.pk",
        "template.name",
        "template.version",
        "template.kind",
        "parent.pk",
        "creator.username",
        "runner",
        "queue",
        "node.pk",
        "node.ip",
    ],
    aliases={"template": "template__pk", "parent": "parent__pk", "creator": "creator__pk", "node": "node"},
    # UFDL's multi-table template models, as its launcher's poll names them: isnull = not of that kind.
    null_tests={
        "template.workabletemplate": ~Q(template__kind=TemplateKind.WORKABLE),
        "template.metatemplate": ~Q(template__kind=TemplateKind.META),
    },
)


class JobViewSet(NodeJobActionsMixin, mixins.UpdateModelMixin, SoftDeleteMixin, ResourceViewSet):
    """Jobs: what they were given, their status and progress, outputs and children. UFDL's job-launcher
    nodes (requests with ``Node-Id``) also see the queued node jobs they can run, and acquire, start,
    report progress on, add outputs to, finish, release and reset them."""

    serializer_class = JobSerializer
    filter_fields = JOB_FILTER_FIELDS
    query_filters = {"status": "status", "template": "template", "parent": "parent", "creator": "creator"}
    admin_actions = frozenset({"destroy", "hard", "reinstate", "abort", "output_delete"})

    def get_queryset(self):
        user = self.request.user
        return self.node_aware_jobs(job_queryset(), visible_q=None if user.is_staff else job_visible_q(user))

    def representable_jobs(self):
        return job_queryset()

    def retrieve(self, request: Request, pk=None) -> Response:
        return Response(job_representation(self.get_object(), viewer=request.user))

    def _require_creator_or_admin(self, job: Job, what: str) -> None:
        user = self.request.user
        if not (user.is_staff or job.creator_id == user.pk):
            raise PermissionDenied(f"Only the job's creator or an admin may {what} it.")

    @extend_schema(request=JobDescriptionSerializer, responses=JobSerializer)
    def update(self, request: Request, pk=None, partial: bool = False) -> Response:
        """Change a job's description (the only field that may change; creator or admin)."""
        job = self.get_object()
        self._require_creator_or_admin(job, "describe")
        serializer = JobDescriptionSerializer(data=request_json_object(request, empty={}))
        serializer.is_valid(raise_exception=True)
        Job.objects.filter(pk=job.pk).update(description=serializer.validated_data["description"])
        return Response(job_representation(self.get_queryset().get(pk=job.pk), viewer=request.user))

    @extend_schema(request=JobDescriptionSerializer, responses=JobSerializer)
    def partial_update(self, request: Request, pk=None) -> Response:
        return self.update(request, pk=pk, partial=True)

    def perform_hard_delete(self, instance: Job) -> None:
        job_hard_delete(job=instance)

    @extend_schema(request=None, responses=JobSerializer)
    @action(detail=True, methods=["delete", "post"], url_path="cancel", url_name="cancel")
    def cancel(self, request: Request, pk=None) -> Response:
        """Cancel the job (and its unfinished children): a queued job never runs, a running one is asked
        to stop and terminated after a grace period. Cancelling a cancelled job changes nothing; a
        finished or errored one is a 409. For the job's creator and admins."""
        job = self.get_object()
        self._require_creator_or_admin(job, "cancel")
        job_cancel(job=job)
        return Response(job_representation(self.get_queryset().get(pk=job.pk), viewer=request.user))

    @extend_schema(request=None, responses=JobSerializer)
    @action(detail=True, methods=["delete", "post"], url_path="abort", url_name="abort")
    def abort(self, request: Request, pk=None) -> Response:
        """Admins: put a running or errored job back to ``created``, remove its outputs, queue it again."""
        job = job_abort(job=self.get_object())
        return Response(job_representation(self.get_queryset().get(pk=job.pk), viewer=request.user))

    @extend_schema(request={"application/json": RELAUNCH_BODY}, responses={201: JobSerializer})
    @action(detail=True, methods=["post"], url_path="relaunch", url_name="relaunch")
    def relaunch(self, request: Request, pk=None) -> Response:
        """Ours: a new job from this job's template with this job's values (inputs, parameters as given,
        description, project; its notification overrides when you created it), each key of the body (a
        create-job key) replacing the job's own. Checked exactly as create-job checks (every problem at
        once, 400/422; 409 ``not_runnable`` unless ``queue_anyway``); the new job records the job it came
        from (``relaunched_from``). For whoever may see the job and run its template; a meta-job's child
        is a 409 ``not_relaunchable`` (relaunch its meta-job)."""
        job = self.get_object()
        made = job_relaunch(job=job, creator=request.user, changes=request_json_object(request, empty={}))
        return Response(job_representation(job_queryset().get(pk=made.pk), viewer=request.user), status=201)

    @extend_schema(
        request={"application/json": RETRY_BODY},
        parameters=[OpenApiParameter("dry_run", bool, description="answer the plan; change nothing")],
        responses={200: OpenApiResponse(description="the meta-job (with ?dry_run=true: {job, plan})")},
    )
    @action(detail=True, methods=["post"], url_path="retry", url_name="retry")
    def retry(self, request: Request, pk=None) -> Response:
        """Ours: retry an errored or cancelled meta-job. Only its children that did not finish, and the
        nodes downstream of them, run again; the finished ones are kept and their outputs (the same
        rows) feed the new children. The body may change re-run nodes' ``parameter_values`` (by
        ``node:param``) and notification overrides, checked as create-job checks them (every problem at
        once). ``?dry_run=true`` answers ``{job, plan}`` and changes nothing. A meta-job that is not
        errored or cancelled, a child (retry its meta-job) and a workable job (relaunch it) are a 409
        ``not_retryable`` with the reason. For the job's creator and admins."""
        job = self.get_object()
        self._require_creator_or_admin(job, "retry")
        dry_run = request.query_params.get("dry_run", "").lower() in {"1", "true", "yes"}
        changes = request_json_object(request, empty={})
        parent, plan = meta_job_retry(job=job, by=request.user, changes=changes, dry_run=dry_run)
        data = job_representation(self.get_queryset().get(pk=parent.pk), viewer=request.user)
        return Response({"job": data, "plan": plan.as_dict()} if dry_run else data)

    @extend_schema(responses=NotificationDeliverySerializer(many=True))
    @action(detail=True, methods=["get"], url_path="notifications", url_name="notifications", pagination_class=None)
    def notifications(self, request: Request, pk=None) -> Response:
        """The notifications the job's transitions sent, oldest first: each with its kind, content and
        status (pending, sent, or failed with the error)."""
        job = self.get_object()
        if not may_see_notifications(job, request.user):
            raise PermissionDenied("Only the job's creator or an admin may see its notifications.")
        return Response(job_notifications(job=job))

    def _output(self, job: Job, output_name: str, type_string: str) -> JobOutput:
        output = next(
            (
                o
                for o in job.outputs.all()
                if o.name == output_name and o.type == type_string and o.deletion_time is None
            ),
            None,
        )
        if output is None:
            try:  # the type may be written in another (non-canonical) spelling
                canonical = str(parse_type(type_string))
            except TypeParseError:
                canonical = None
            output = next(
                (
                    o
                    for o in job.outputs.all()
                    if o.name == output_name and o.type == canonical and o.deletion_time is None
                ),
                None,
            )
        if output is None:
            raise NotFound(f"Job {job.pk} has no output {output_name!r} of type {type_string}.")
        return output

    @extend_schema(
        methods=["GET"], responses={(200, "application/json"): OpenApiTypes.ANY, (200, "*/*"): OUTPUT_DOWNLOAD}
    )
    @extend_schema(methods=["DELETE"], request=None, responses={204: None})
    @OUTPUT_POST_SCHEMA
    @action(detail=True, methods=["get", "post", "delete"], url_path=OUTPUT_ROUTE, url_name="output")
    def output(self, request: Request, pk=None, output_name: str = "", type_string: str = ""):
        """Download an output's bytes (GET), delete it (DELETE, admins), or add one (POST: the node
        holding the job, or an admin; the raw bytes as the body, the type percent-encoded in the path)."""
        job = self.get_object()
        if request.method == "POST":
            return self.add_output(request, job, output_name, type_string)
        output = self._output(job, output_name, type_string)
        if request.method == "DELETE":
            if not request.user.is_staff:
                raise PermissionDenied("Only admins may delete outputs.")
            job_output_delete(output=output)
            return Response(status=204)
        return download_response(output)

    @extend_schema(responses=JobOutputSerializer)
    @action(detail=True, methods=["get"], url_path=rf"{OUTPUT_ROUTE}/info", url_name="output-info")
    def output_info(self, request: Request, pk=None, output_name: str = "", type_string: str = ""):
        """An output's metadata (pk, name, type, size, times)."""
        return Response(output_info(self._output(self.get_object(), output_name, type_string)))


def download_response(output: JobOutput) -> FileResponse:
    """An output's bytes as a file a browser can show: the media type and extension of its type
    (``BLOB<'log'>`` is ``text/plain`` ``….log``, ``JSON`` ``application/json`` ``….json``)."""
    kind = file_kind(parse_type(output.type))
    filename = f"job{output.job_id}-{output.name.replace(':', '_')}{kind.extension}"
    return FileResponse(output.file.open("rb"), as_attachment=True, filename=filename, content_type=kind.content_type)


class JobOutputViewSet(mixins.RetrieveModelMixin, ResourceViewSet):
    """Job outputs, visible as their jobs are; download their bytes from ``{pk}/download``."""

    serializer_class = JobOutputSerializer
    filter_fields = FilterFields(
        JobOutput,
        ["pk", "name", "type", "size", "creation_time", "deletion_time", "job.pk", "job.status", "job.template.name"],
        aliases={"job": "job__pk"},
    )
    query_filters = {"job": "job", "name": "name", "type": "type"}

    def get_queryset(self):
        return job_output_visible_to(user=self.request.user, queryset=JobOutput.objects.all())

    @extend_schema(request=None, responses={(200, "application/json"): OpenApiTypes.ANY, (200, "*/*"): OUTPUT_DOWNLOAD})
    @action(detail=True, methods=["get", "post"], url_path="download", url_name="download")
    def download(self, request: Request, pk=None):
        """The output's bytes."""
        return download_response(self.get_object())
