"""``/v1/datasets`` and the domain routes' common part: datasets, their files, metadata, archives,
copies, merges and clearing.

Visibility: public datasets for everyone, a project's datasets for the members of its team, personal
datasets (no project) for their creator, everything for administrators; others answer 404. Creating in
a project takes W or A in its team; changing a dataset (fields, files, metadata, annotations, clear,
merge into it) takes W or A in its project's team (the creator, for a personal one). Deleting for good
is for administrators. Reading files and annotations is open to whoever sees the dataset.
"""

from __future__ import annotations

import posixpath
from typing import Any

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from config.api.parsers import MultiPartParser
from config.api.permissions import ObjectRulePermissions
from config.api.viewsets import ResourceViewSet, SoftDeleteMixin, request_json_object
from config.errors import InvalidRequest, MalformedRequest, NotBuilt, NotFound, Problem
from contracts.api.views.common import parse_input
from contracts.models import Domain
from workspaces import filters, selectors
from workspaces.api.serializers import (
    CopySerializer,
    DatasetSerializer,
    DatasetWriteSerializer,
    FileRecordSerializer,
    MergeSerializer,
    MetadataSerializer,
)
from workspaces.api.uploads import uploaded_file, uploaded_files
from workspaces.models import Dataset
from workspaces.services import datasets as services

FILE_PATH = r"files/(?P<filename>.+?)"  # non-greedy: one trailing slash belongs to the route, not the name
METADATA_PATH = r"metadata/(?P<filename>.+?)"
ARCHIVE_CONTENT_TYPES = {
    "application/zip": "zip",
    "application/x-zip-compressed": "zip",
    "application/gzip": "tar.gz",
    "application/x-gzip": "tar.gz",
    "application/x-tar": "tar",
}


def can_change(user, dataset: Dataset) -> bool:
    return selectors.dataset_can_change(user=user, dataset=dataset)


CHANGE = (can_change, "Changing this dataset takes W or A in its project's team (its creator, for a personal one).")


def file_record(datafile) -> dict[str, Any]:
    return FileRecordSerializer(datafile).data


class DatasetViewSet(SoftDeleteMixin, mixins.RetrieveModelMixin, ResourceViewSet):
    """Datasets of every domain (a core dataset, made here, has none). Public datasets are visible to every
    user, a project's to the members of its team, a personal one (no project) to its creator; others
    answer 404. Creating one in a project takes W or A in its team; changing one (its fields, files,
    metadata, annotations) takes W or A in its project's team (its creator, for a personal one); deleting
    for good is for administrators."""

    serializer_class = DatasetSerializer
    permission_classes = [ObjectRulePermissions]
    admin_actions = frozenset({"hard"})
    # OpenAPI (config.api.schema): error answers beyond the ones every route of its kind may give
    # (annotation conversion is a 501).
    error_statuses = {"download": frozenset({"501"})}
    object_rules = {
        action_name: CHANGE
        for action_name in (
            "update",
            "partial_update",
            "destroy",
            "reinstate",
            "file_upload",
            "file_delete",
            "files_upload",
            "files_delete",
            "metadata_set",
            "clear",
            "merge",
            "categories_set",
            "categories_change",
            "transcription_set",
            # object detection (views/detection.py)
            "labels_add",
            "label_delete",
            "prefixes_add",
            "prefix_delete",
            "file_type_set",
            "annotations_set",
            "annotations_clear",
            "file_annotations_set",
            "file_annotations_add",
            "file_annotations_delete",
            # image segmentation (views/segmentation.py)
            "labels_set",
            "layer_set",
        )
    }
    lookup_value_regex = r"\d+"
    filter_fields = filters.DATASET_FILTER_FIELDS
    query_filters = {
        "name": "name",
        "version": "version",
        "domain": "domain.name",
        "licence": "licence",
        "project": "project",
        "is_public": "is_public",
        "creator": "creator",
    }
    download_actions = frozenset({"file_download", "download"})
    # The domain of a domain route (its 2-letter name); None: every domain (the core route).
    domain_name: str | None = None
    representation_extras: dict[str, bool] = {}

    def get_queryset(self):
        return selectors.dataset_visible_to(
            self.request.user, domain_name=self.domain_name, **self.representation_extras
        )

    def route_domain(self) -> Domain:
        """This route's domain row (cached per request); a catalogue without it answers 501."""
        if not hasattr(self, "_route_domain"):
            domain = Domain.objects.filter(name=self.domain_name).first()
            if domain is None:
                raise NotBuilt(
                    f"The catalogue has no domain {self.domain_name!r}; run seed_catalogue.",
                    code="domain_not_seeded",
                    problems=[Problem(path="", code="domain_not_seeded", message=f"no domain {self.domain_name!r}")],
                )
            self._route_domain = domain
        return self._route_domain

    def perform_content_negotiation(self, request, force=False):
        # A download answers bytes whatever the client accepts; errors still render as JSON.
        return super().perform_content_negotiation(request, force=force or self.action in self.download_actions)

    def _output(self, dataset: Dataset, *, status_code: int = status.HTTP_200_OK) -> Response:
        return Response(self.get_serializer(self.get_queryset().get(pk=dataset.pk)).data, status=status_code)

    # --- create and update ----------------------------------------------------------------------------

    def _body(self, request: Request, *, partial: bool = False) -> dict[str, Any]:
        body = dict(parse_input(DatasetWriteSerializer, request.data, partial=partial).validated_data)
        domain = body.pop("domain", None)
        if self.domain_name is not None and domain is not None and domain.name != self.domain_name:
            raise InvalidRequest(
                problems=[
                    Problem(path="domain", code="wrong_domain", message=f"this route makes {self.domain_name} datasets")
                ]
            )
        body["domain"] = self.route_domain() if self.domain_name else domain
        return body

    def _create(self, request: Request) -> Dataset:
        return services.dataset_create(creator=request.user, **self._body(request))

    @extend_schema(request=DatasetWriteSerializer, responses={201: DatasetSerializer})
    def create(self, request: Request, *args, **kwargs) -> Response:
        """Create a dataset owned by the caller (in ``project``: W or A in its team; none: a personal
        dataset); without a version, the next version of that name there."""
        return self._output(self._create(request), status_code=status.HTTP_201_CREATED)

    @extend_schema(request=DatasetWriteSerializer, responses={200: DatasetSerializer})
    @action(detail=False, methods=["post"], url_path="create", url_name="create")
    def create_compat(self, request: Request) -> Response:
        """Create a dataset owned by the caller (UFDL's route, answering 200 with the dataset)."""
        return self._output(self._create(request))

    @extend_schema(request=DatasetWriteSerializer, responses={200: DatasetSerializer})
    def update(self, request: Request, *args, partial: bool = False, **kwargs) -> Response:
        """Change a dataset; 409 if the new name and version are taken in its project. Its domain stays."""
        dataset = self.get_object()
        body = self._body(request, partial=partial)
        domain = body.pop("domain")
        if domain is not None and domain.pk != dataset.domain_id and "domain" in request.data:
            raise InvalidRequest(
                problems=[Problem(path="domain", code="read_only", message="a dataset's domain cannot change")]
            )
        return self._output(services.dataset_update(dataset=dataset, user=request.user, **body))

    @extend_schema(request=DatasetWriteSerializer, responses={200: DatasetSerializer})
    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        """Change some fields of a dataset."""
        return self.update(request, *args, partial=True, **kwargs)

    # --- lifecycle (routes from SoftDeleteMixin) -------------------------------------------------------

    def perform_soft_delete(self, instance: Dataset) -> None:
        services.dataset_soft_delete(dataset=instance)

    def perform_hard_delete(self, instance: Dataset) -> None:
        services.dataset_hard_delete(dataset=instance)

    def perform_reinstate(self, instance: Dataset) -> Dataset:
        return services.dataset_reinstate(dataset=instance)

    # --- files ----------------------------------------------------------------------------------------

    @extend_schema(
        # The file's own content type (guessed from its name), application/octet-stream when unknown.
        responses={(200, "*/*"): OpenApiResponse(OpenApiTypes.BINARY, description="file")},
    )
    @action(detail=True, methods=["get"], url_path=FILE_PATH, url_name="file", parser_classes=[MultiPartParser])
    def file_download(self, request: Request, pk=None, filename: str = "") -> FileResponse:
        """Download one file of the dataset (its name may contain '/' for sub-folders)."""
        dataset = self.get_object()
        services.dataset_filename_check(filename)
        datafile = selectors.dataset_file_get(dataset=dataset, filename=filename)
        return FileResponse(datafile.file.open("rb"), as_attachment=True, filename=posixpath.basename(filename))

    @extend_schema(
        request={"application/data": OpenApiTypes.BINARY, "multipart/form-data": OpenApiTypes.OBJECT},
        responses={200: FileRecordSerializer},
    )
    @file_download.mapping.post
    def file_upload(self, request: Request, pk=None, filename: str = "") -> Response:
        """Upload a file: the raw body (UFDL's client sends ``Content-Type: application/data`` and a
        ``Content-Disposition``; any content type does) or the multipart field ``file``. The name comes
        from the path; a file of that name is replaced. Answers ``{filename, handle, size}``; 413 past
        the size limit."""
        dataset = self.get_object()
        services.dataset_filename_check(filename)
        content = uploaded_file(request)
        try:
            datafile = services.dataset_file_upload(dataset=dataset, filename=filename, content=content)
        finally:
            content.close()
        return Response(file_record(datafile))

    @extend_schema(responses={200: FileRecordSerializer})
    @file_download.mapping.delete
    def file_delete(self, request: Request, pk=None, filename: str = "") -> Response:
        """Remove a file (and its annotations) from the dataset; answers the removed file's record."""
        dataset = self.get_object()
        services.dataset_filename_check(filename)
        return Response(file_record(services.dataset_file_delete(dataset=dataset, filename=filename)))

    @extend_schema(
        request={
            "multipart/form-data": OpenApiTypes.OBJECT,
            "application/zip": OpenApiTypes.BINARY,
            "application/gzip": OpenApiTypes.BINARY,
        },
        responses={200: {"type": "object", "additionalProperties": {"type": "string"}}},
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="files-multi",
        url_name="files-multi",
        parser_classes=[MultiPartParser, *api_settings.DEFAULT_PARSER_CLASSES],
    )
    def files_upload(self, request: Request, pk=None) -> Response:
        """Add several files at once (ours): a multipart body whose file parts are named by their
        filenames (``a/b.png`` keeps its folder), or a zip or tar.gz archive as the raw body (its entries,
        folders kept). Every name is checked first; either every file is stored or none is. Answers
        ``{filename: handle}`` of the files stored."""
        dataset = self.get_object()
        files = uploaded_files(request, archive_type=ARCHIVE_CONTENT_TYPES.get(request.content_type.split(";")[0]))
        try:
            stored = services.dataset_files_upload(dataset=dataset, files=files)
        finally:
            for _, content in files:
                content.close()
        return Response({datafile.filename: datafile.handle for datafile in stored})

    @extend_schema(
        request={
            "application/json": {
                "type": "object",
                "properties": {"filenames": {"type": "array", "items": {"type": "string"}}},
            }
        },
        responses={200: {"type": "object", "additionalProperties": {"type": "string"}}},
    )
    @files_upload.mapping.delete
    def files_delete(self, request: Request, pk=None) -> Response:
        """Remove several files at once (ours): ``{"filenames": [...]}``; every one must exist (404 names
        the missing ones) or none goes. Answers ``{filename: handle}`` of the files removed."""
        dataset = self.get_object()
        body = request_json_object(request, empty={})
        names = body.get("filenames") if isinstance(body, dict) else None
        if not isinstance(names, list) or not names or not all(isinstance(name, str) for name in names):
            raise MalformedRequest(
                problems=[Problem(path="filenames", code="wrong_type", message="a non-empty list of file names")]
            )
        removed = services.dataset_files_delete(dataset=dataset, filenames=names)
        return Response({datafile.filename: datafile.handle for datafile in removed})

    # --- metadata ---------------------------------------------------------------------------------------

    @extend_schema(responses={200: {"type": "object", "additionalProperties": {"type": "string"}}})
    @action(detail=True, methods=["get"], url_path="metadata", url_name="metadata-all")
    def metadata(self, request: Request, pk=None) -> Response:
        """Every file's metadata: ``{filename: metadata}``."""
        return Response(services.dataset_metadata(dataset=self.get_object()))

    @extend_schema(responses={200: MetadataSerializer})
    @action(detail=True, methods=["get"], url_path=METADATA_PATH, url_name="metadata")
    def metadata_get(self, request: Request, pk=None, filename: str = "") -> Response:
        """One file's metadata: ``{"metadata": "<text>"}`` (``""`` until set)."""
        datafile = selectors.dataset_file_get(dataset=self.get_object(), filename=filename)
        return Response({"metadata": datafile.metadata})

    @extend_schema(request=MetadataSerializer, responses={200: MetadataSerializer})
    @metadata_get.mapping.post
    def metadata_set(self, request: Request, pk=None, filename: str = "") -> Response:
        """Set one file's metadata: ``{"metadata": "<text>"}``; answers it."""
        body = parse_input(MetadataSerializer, request.data).validated_data
        datafile = services.dataset_file_metadata_set(
            dataset=self.get_object(), filename=filename, metadata=body["metadata"]
        )
        return Response({"metadata": datafile.metadata})

    # --- archive, copy, merge, clear --------------------------------------------------------------------

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "filetype", str, enum=list(services.ARCHIVE_FORMATS), description="zip (default) or tar.gz"
            )
        ],
        responses={
            (200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, description="zip"),
            (200, "application/gzip"): OpenApiResponse(OpenApiTypes.BINARY, description="tar.gz"),
        },
    )
    @action(detail=True, methods=["get"], url_path="download", url_name="download")
    def download(self, request: Request, pk=None) -> FileResponse:
        """Every file of the dataset in one archive (entries keep their sub-folders), named
        ``<name>.v<version>.<filetype>``. ``filetype`` (``zip`` or ``tar.gz``) comes from the query or,
        as UFDL reads it, from a JSON body; annotation conversion (``params.annotations_args``) is not
        built here (501)."""
        dataset = self.get_object()
        body = request_json_object(request, empty={}) if request.content_type.startswith("application/json") else {}
        body = body if isinstance(body, dict) else {}
        archive_format = request.query_params.get("filetype") or body.get("filetype") or "zip"
        if not isinstance(archive_format, str):
            raise MalformedRequest(problems=[Problem(path="filetype", code="wrong_type", message="a string")])
        params = body.get("params") or {}
        if params:
            raise NotBuilt(
                "Converting annotations on download (params.annotations_args) is not built here.",
                problems=[Problem(path="params", code="not_implemented", message="download the files as they are")],
            )
        archive = services.dataset_archive(dataset=dataset, archive_format=archive_format)
        return FileResponse(
            archive,
            as_attachment=True,
            filename=services.dataset_archive_name(dataset, archive_format),
            content_type=services.ARCHIVE_FORMATS[archive_format],
        )

    @extend_schema(request=CopySerializer, responses={200: DatasetSerializer})
    @action(detail=True, methods=["post"], url_path="copy", url_name="copy")
    def copy(self, request: Request, pk=None) -> Response:
        """A copy of the dataset (files, metadata, annotations) owned by the caller: the next version of
        its name (``previous_version`` set), or ``new_name``; ``only_files`` copies some files; ours,
        ``project`` copies into another project. Either way that takes W or A in the target project."""
        dataset = self.get_object()
        body = parse_input(CopySerializer, request_json_object(request, empty={})).validated_data
        copy = services.dataset_copy(
            dataset=dataset,
            user=request.user,
            new_name=body.get("new_name"),
            only_files=body.get("only_files"),
            project=body["project"] if "project" in body else services.UNSET,
        )
        return self._output(copy)

    @extend_schema(request=MergeSerializer, responses={200: DatasetSerializer})
    @action(detail=True, methods=["post"], url_path=r"merge/(?P<other>\d+)", url_name="merge")
    def merge(self, request: Request, pk=None, other: str = "") -> Response:
        """Merge the dataset ``other`` (one you can see, of the same domain) into this one. ``delete``
        soft-deletes ``other`` afterwards (W or A in its project); ``hard`` deletes it for good
        (administrators). Answers this dataset."""
        target = self.get_object()
        body = parse_input(MergeSerializer, request.data).validated_data
        source = self.get_queryset().filter(pk=int(other)).first()
        if source is None:
            raise NotFound(problems=[Problem(path="other", code="not_found", message=f"no dataset {other}")])
        merged = services.dataset_merge(
            target=target, source=source, user=request.user, delete=body["delete"], hard=body["hard"]
        )
        return self._output(merged)

    @extend_schema(request=None, responses={200: DatasetSerializer})
    @action(detail=True, methods=["delete"], url_path="clear", url_name="clear")
    def clear(self, request: Request, pk=None) -> Response:
        """Clear every file's metadata and every annotation (the files stay); answers the dataset."""
        return self._output(services.dataset_clear(dataset=self.get_object()))
