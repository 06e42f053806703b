"""``/v1/datasets``: named, versioned collections of files, visible by publicity, ownership and project."""

from __future__ import annotations

import posixpath

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.permissions import ActionPermissions
from config.api.viewsets import ResourceViewSet, SoftDeleteMixin
from contracts import filters, selectors
from contracts.api.serializers import DatasetFileSerializer, DatasetSerializer, DatasetWriteSerializer
from contracts.api.views.common import parse_input
from contracts.api.views.uploads import uploaded_file
from contracts.models import Dataset
from contracts.services import datasets as services

FILE_PATH = r"files/(?P<filename>.+?)"  # non-greedy: one trailing slash belongs to the route, not the name


class DatasetPermissions(ActionPermissions):
    """Authenticated users read visible datasets and create their own; changing one is for its creator
    and administrators; ``hard`` is for administrators."""

    owner_actions = frozenset({"update", "partial_update", "destroy", "reinstate", "file_upload", "file_delete"})

    def has_object_permission(self, request, view, obj: Dataset) -> bool:
        if view.action not in self.owner_actions:
            return True
        self.message = "Only the dataset's creator or an administrator may do this."
        return bool(request.user.is_staff or obj.creator_id == request.user.pk)


class DatasetViewSet(SoftDeleteMixin, mixins.RetrieveModelMixin, ResourceViewSet):
    """Datasets. Everyone sees public datasets, their own, and those of projects (groups) they belong to;
    administrators see all, and others answer 404. Creating is open to every user (who becomes the
    creator); editing, deleting, reinstating and changing files is for the creator and administrators,
    and deleting for good for administrators."""

    serializer_class = DatasetSerializer
    permission_classes = [DatasetPermissions]
    admin_actions = frozenset({"hard"})
    lookup_value_regex = r"\d+"
    filter_fields = filters.DATASET_FILTER_FIELDS
    query_filters = {
        "name": "name",
        "version": "version",
        "domain": "domain",
        "licence": "licence",
        "project": "project",
        "is_public": "is_public",
        "creator": "creator",
    }
    download_actions = frozenset({"file_download", "download"})

    def get_queryset(self):
        return selectors.dataset_visible_to(self.request.user)

    def perform_content_negotiation(self, request, force=False):
        # A download answers bytes whatever the client accepts; errors still render as JSON.
        return super().perform_content_negotiation(request, force=force or self.action in self.download_actions)

    def _output(self, dataset: Dataset) -> Response:
        return Response(self.get_serializer(self.get_queryset().get(pk=dataset.pk)).data)

    # --- create and update ----------------------------------------------------------------------------

    def _create(self, request: Request) -> Dataset:
        body = parse_input(DatasetWriteSerializer, request.data, context=self.get_serializer_context())
        return services.dataset_create(creator=request.user, **body.validated_data)

    @extend_schema(request=DatasetWriteSerializer, responses={201: DatasetSerializer})
    def create(self, request: Request, *args, **kwargs) -> Response:
        """Create a dataset owned by the caller; without a version, the next version of that name."""
        response = self._output(self._create(request))
        response.status_code = status.HTTP_201_CREATED
        return response

    @extend_schema(request=DatasetWriteSerializer, responses={200: DatasetSerializer})
    @action(detail=False, methods=["post"], url_path="create", url_name="create")
    def create_compat(self, request: Request) -> Response:
        """Create a dataset owned by the caller (UFDL's route: answers 200 with the dataset)."""
        return self._output(self._create(request))

    @extend_schema(request=DatasetWriteSerializer, responses={200: DatasetSerializer})
    def update(self, request: Request, *args, partial: bool = False, **kwargs) -> Response:
        """Change a dataset (creator or administrator); 409 if the new name and version are taken."""
        dataset = self.get_object()
        body = parse_input(DatasetWriteSerializer, request.data, partial=partial, context=self.get_serializer_context())
        return self._output(services.dataset_update(dataset=dataset, user=request.user, **body.validated_data))

    @extend_schema(request=DatasetWriteSerializer, responses={200: DatasetSerializer})
    def partial_update(self, request: Request, *args, **kwargs) -> Response:
        """Change some fields of a dataset (creator or administrator)."""
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
        responses={(200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY, description="file")},
    )
    @action(detail=True, methods=["get"], url_path=FILE_PATH, url_name="file", parser_classes=[MultiPartParser])
    def file_download(self, request: Request, pk=None, filename: str = "") -> FileResponse:
        """Download one file of the dataset (its name may contain '/' for sub-folders)."""
        dataset = self.get_object()
        services.dataset_filename_check(filename)
        datafile = selectors.dataset_file_get(dataset=dataset, filename=filename)
        return FileResponse(datafile.file.open("rb"), as_attachment=True, filename=posixpath.basename(filename))

    @extend_schema(
        request={"application/octet-stream": OpenApiTypes.BINARY, "multipart/form-data": OpenApiTypes.OBJECT},
        responses={200: DatasetFileSerializer},
    )
    @file_download.mapping.post
    def file_upload(self, request: Request, pk=None, filename: str = "") -> Response:
        """Upload a file (creator or administrator): the raw body (any content type) or the multipart
        field ``file``. A file of that name is replaced; 413 past the size limit."""
        dataset = self.get_object()
        services.dataset_filename_check(filename)
        content = uploaded_file(request)
        try:
            datafile = services.dataset_file_upload(dataset=dataset, filename=filename, content=content)
        finally:
            content.close()
        return Response(DatasetFileSerializer(datafile).data)

    @extend_schema(responses={200: DatasetFileSerializer})
    @file_download.mapping.delete
    def file_delete(self, request: Request, pk=None, filename: str = "") -> Response:
        """Remove a file from the dataset (creator or administrator)."""
        dataset = self.get_object()
        services.dataset_filename_check(filename)
        datafile = services.dataset_file_delete(dataset=dataset, filename=filename)
        return Response(DatasetFileSerializer(datafile).data)

    @extend_schema(responses={(200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, description="zip")})
    @action(detail=True, methods=["get"], url_path="download", url_name="download")
    def download(self, request: Request, pk=None) -> FileResponse:
        """Download every file of the dataset as one zip archive (entries keep their sub-folders)."""
        dataset = self.get_object()
        archive = services.dataset_archive(dataset=dataset)
        return FileResponse(
            archive,
            as_attachment=True,
            filename=f"{dataset.name}-v{dataset.version}.zip",
            content_type="application/zip",
        )
