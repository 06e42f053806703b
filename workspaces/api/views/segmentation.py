"""``/v1/segments/datasets``: the core dataset routes for image segmentation, plus UFDL's ``labels`` (the
dataset's ordered labels) and ``layers/{file}/{label}`` (one mask per file and label, uploaded and
downloaded as raw bytes).

Reads are open to whoever sees the dataset; changes take W or A in its project's team (``object_rules``
of ``DatasetViewSet``).
"""

from __future__ import annotations

from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.parsers import MultiPartParser
from config.api.viewsets import request_json_object
from config.errors import MalformedRequest, Problem
from workspaces.api.uploads import uploaded_file
from workspaces.api.views.datasets import DatasetViewSet
from workspaces.services import datasets as services

# As UFDL's route: the file name may hold '/', the label may not; one trailing slash belongs to the route.
LAYER_PATH = r"layers/(?P<filename>.+)/(?P<label>[^/]+)"
LABELS_SCHEMA = {"type": "array", "items": {"type": "string"}}
LABELS_BODY_SCHEMA = {"type": "object", "required": ["labels"], "properties": {"labels": LABELS_SCHEMA}}


def labels_body(body) -> list[str]:
    """UFDL's ``{"labels": [...]}``: unique labels, none with a newline or ``/``; every problem at once."""
    if not isinstance(body, dict):
        raise MalformedRequest(problems=[Problem(path="", code="wrong_type", message='an object {"labels": [...]}')])
    problems = [
        Problem(path=str(key)[:100], code="unknown_key", message="the only key is 'labels'")
        for key in body
        if key != "labels"
    ]
    if "labels" not in body:
        problems.append(Problem(path="labels", code="required", message="required"))
    else:
        problems += services.segmentation_label_problems(body["labels"])
    if problems:
        raise MalformedRequest(f"{len(problems)} problem(s) in the labels.", problems=problems)
    return body["labels"]


class SegmentationLayersMixin(viewsets.GenericViewSet):
    """``{pk}/labels``: GET or POST the dataset's labels; ``{pk}/layers/{file}/{label}``: GET or POST one
    layer's mask."""

    @extend_schema(responses={200: LABELS_SCHEMA})
    @action(detail=True, methods=["get"], url_path="labels", url_name="labels")
    def labels(self, request: Request, pk=None) -> Response:
        """The dataset's labels, in their canonical order."""
        return Response(services.segmentation_labels(dataset=self.get_object()))

    @extend_schema(request={"application/json": LABELS_BODY_SCHEMA}, responses={200: LABELS_SCHEMA})
    @labels.mapping.post
    def labels_set(self, request: Request, pk=None) -> Response:
        """Set the labels, in order: ``{"labels": ["cat", "dog"]}`` (unique; no newline or ``/``). The
        layers of labels no longer there are removed. Answers the labels."""
        dataset = self.get_object()
        labels = labels_body(request_json_object(request, empty=None))
        return Response(services.segmentation_labels_set(dataset=dataset, labels=labels))

    @extend_schema(
        responses={(200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY, description="mask")}
    )
    @action(detail=True, methods=["get"], url_path=LAYER_PATH, url_name="layer", parser_classes=[MultiPartParser])
    def layer(self, request: Request, pk=None, filename: str = "", label: str = "") -> FileResponse:
        """The mask of a file's layer for ``label``, as raw bytes; 404 when the dataset lacks the file or
        label, or the layer has no mask (UFDL answered an empty body)."""
        mask = services.segmentation_layer(dataset=self.get_object(), filename=filename, label=label)
        return FileResponse(mask.file.open("rb"), content_type="application/octet-stream")

    @extend_schema(
        request={"application/data": OpenApiTypes.BINARY, "multipart/form-data": OpenApiTypes.OBJECT},
        responses={200: {"type": "string", "description": "the label"}},
    )
    @layer.mapping.post
    def layer_set(self, request: Request, pk=None, filename: str = "", label: str = "") -> Response:
        """Upload the mask of a file's layer for ``label``, as a file upload: the raw body (UFDL's client
        sends ``Content-Type: application/data`` and a ``Content-Disposition``) or the multipart field
        ``file``; it replaces the layer's mask. 404 for a file the dataset lacks, 422 for a label it
        lacks, 413 past the size limit. Answers the label, a JSON string."""
        dataset = self.get_object()
        services.dataset_filename_check(filename)
        content = uploaded_file(request)
        try:
            services.segmentation_layer_set(dataset=dataset, filename=filename, label=label, content=content)
        finally:
            content.close()
        return Response(label)


class ImageSegmentationDatasetViewSet(SegmentationLayersMixin, DatasetViewSet):
    """Image-segmentation datasets (``/v1/segments/datasets``), with their labels and mask layers."""

    domain_name = "is"
    download_actions = DatasetViewSet.download_actions | {"layer"}
