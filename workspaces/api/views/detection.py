"""``/v1/objdet/datasets``: the core dataset routes for object detection, plus UFDL's annotation routes:
the dataset's labels and prefixes, its files' types, and their annotations (all at once, or one file's).

Reads are open to whoever sees the dataset; changes take W or A in its project's team (``object_rules``
of ``DatasetViewSet``). Writes answer ``{}``, as UFDL's do. A dataset's labels (and prefixes) are those
added plus those its annotations use; removing one removes the annotations that use it.
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.viewsets import request_json_object
from workspaces.api.serializers import DatasetSerializer
from workspaces.api.views.datasets import DatasetViewSet
from workspaces.models import Dataset
from workspaces.services import datasets as services

FILE_IN_PATH = r"(?P<filename>.+?)"  # non-greedy: one trailing slash belongs to the route, not the name
TERMS_SCHEMA = {"type": "array", "items": {"type": "string"}}
EMPTY_SCHEMA = {"type": "object", "description": "{}"}
FILE_TYPE_PROPERTIES = {
    "format": {"type": "string"},
    "dimensions": {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 2, "maxItems": 2},
    "length": {"type": "number", "minimum": 0, "description": "seconds: a video"},
}
FILE_TYPE_SCHEMA = {"type": "object", "properties": FILE_TYPE_PROPERTIES, "additionalProperties": False}
ANNOTATION_SCHEMA = {
    "type": "object",
    "required": ["x", "y", "width", "height", "label"],
    "properties": {
        "x": {"type": "integer"},
        "y": {"type": "integer"},
        "width": {"type": "integer", "minimum": 0},
        "height": {"type": "integer", "minimum": 0},
        "polygon": {
            "type": "object",
            "properties": {
                "points": {
                    "type": "array",
                    "minItems": 3,
                    "items": {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2},
                }
            },
        },
        "label": {"type": "string", "minLength": 1},
        "prefix": {"type": "string", "minLength": 1, "default": "Object"},
        "time": {"type": "number", "minimum": 0, "description": "seconds: an annotation of a video's frame"},
    },
    "additionalProperties": False,
}
ANNOTATIONS_SCHEMA = {"type": "array", "items": ANNOTATION_SCHEMA}
ANNOTATIONS_FILE_SCHEMA = {
    "type": "object",
    "additionalProperties": {
        "type": "object",
        "required": ["annotations"],
        "properties": {**FILE_TYPE_PROPERTIES, "annotations": ANNOTATIONS_SCHEMA},
    },
}


class ObjectDetectionDatasetSerializer(DatasetSerializer):
    """An object-detection dataset, with its ``annotations`` (an ``AnnotationsFile``, as one revision of
    UFDL's serialiser adds it)."""

    annotations = serializers.SerializerMethodField()

    class Meta(DatasetSerializer.Meta):
        fields = [*DatasetSerializer.Meta.fields, "annotations"]
        read_only_fields = fields

    @extend_schema_field(ANNOTATIONS_FILE_SCHEMA)
    def get_annotations(self, dataset: Dataset) -> dict[str, dict]:
        return services.detection_annotations_of(dataset)


class DetectionAnnotationsMixin(viewsets.GenericViewSet):
    """UFDL's object-detection routes: ``labels``, ``prefixes``, ``file-type/{file}``, ``file-types``,
    ``annotations`` and ``annotations/{file}``."""

    # Actions that answer no dataset representation, so need none of its annotations loaded.
    annotation_actions = frozenset(
        {
            "labels",
            "labels_add",
            "label_delete",
            "prefixes",
            "prefixes_add",
            "prefix_delete",
            "file_type",
            "file_type_set",
            "file_types",
            "annotations",
            "annotations_set",
            "annotations_clear",
            "file_annotations",
            "file_annotations_set",
            "file_annotations_add",
            "file_annotations_delete",
        }
    )

    # --- labels and prefixes ------------------------------------------------------------------------

    @extend_schema(responses={200: TERMS_SCHEMA})
    @action(detail=True, methods=["get"], url_path="labels", url_name="labels")
    def labels(self, request: Request, pk=None) -> Response:
        """The dataset's labels, sorted: those added, and those its annotations use."""
        return Response(services.detection_vocabulary(dataset=self.get_object(), vocabulary="labels"))

    @extend_schema(request={"application/json": TERMS_SCHEMA}, responses={200: EMPTY_SCHEMA})
    @labels.mapping.post
    def labels_add(self, request: Request, pk=None) -> Response:
        """Add labels: a JSON array of strings (``["car", "dog"]``); ones the dataset has stay. Answers ``{}``."""
        dataset = self.get_object()
        texts = services.parse_terms(request_json_object(request, empty=None), "label")
        services.detection_vocabulary_add(dataset=dataset, vocabulary="labels", texts=texts)
        return Response({})

    @extend_schema(request=None, responses={200: EMPTY_SCHEMA})
    @action(detail=True, methods=["delete"], url_path=r"labels/(?P<label>.+?)", url_name="label")
    def label_delete(self, request: Request, pk=None, label: str = "") -> Response:
        """Remove a label, and every annotation that uses it (as UFDL does); 404 when the dataset lacks it.
        Answers ``{}``."""
        services.detection_vocabulary_remove(dataset=self.get_object(), vocabulary="labels", text=label)
        return Response({})

    @extend_schema(responses={200: TERMS_SCHEMA})
    @action(detail=True, methods=["get"], url_path="prefixes", url_name="prefixes")
    def prefixes(self, request: Request, pk=None) -> Response:
        """The dataset's prefixes, sorted: those added, and those its annotations use."""
        return Response(services.detection_vocabulary(dataset=self.get_object(), vocabulary="prefixes"))

    @extend_schema(request={"application/json": TERMS_SCHEMA}, responses={200: EMPTY_SCHEMA})
    @prefixes.mapping.post
    def prefixes_add(self, request: Request, pk=None) -> Response:
        """Add prefixes: a JSON array of strings. Answers ``{}``."""
        dataset = self.get_object()
        texts = services.parse_terms(request_json_object(request, empty=None), "prefix")
        services.detection_vocabulary_add(dataset=dataset, vocabulary="prefixes", texts=texts)
        return Response({})

    @extend_schema(request=None, responses={200: EMPTY_SCHEMA})
    @action(detail=True, methods=["delete"], url_path=r"prefixes/(?P<prefix>.+?)", url_name="prefix")
    def prefix_delete(self, request: Request, pk=None, prefix: str = "") -> Response:
        """Remove a prefix (UFDL removed a label of that name instead), and every annotation that uses it;
        404 when the dataset lacks it. Answers ``{}``."""
        services.detection_vocabulary_remove(dataset=self.get_object(), vocabulary="prefixes", text=prefix)
        return Response({})

    # --- file types -----------------------------------------------------------------------------------

    @extend_schema(responses={200: FILE_TYPE_SCHEMA})
    @action(detail=True, methods=["get"], url_path=f"file-type/{FILE_IN_PATH}", url_name="file-type")
    def file_type(self, request: Request, pk=None, filename: str = "") -> Response:
        """A file's type: ``{"format"?, "dimensions"?: [width, height], "length"?}`` (``{}`` until set;
        ``length``: a video); 404 for a file the dataset lacks."""
        return Response(services.detection_file_type(dataset=self.get_object(), filename=filename))

    @extend_schema(request={"application/json": FILE_TYPE_SCHEMA}, responses={200: EMPTY_SCHEMA})
    @file_type.mapping.post
    def file_type_set(self, request: Request, pk=None, filename: str = "") -> Response:
        """Set (or replace) a file's type; 409 when that would make an annotated image a video or back.
        Answers ``{}``."""
        dataset = self.get_object()
        file_type = services.parse_file_type(request_json_object(request, empty=None))
        services.detection_file_type_set(dataset=dataset, filename=filename, file_type=file_type)
        return Response({})

    @extend_schema(responses={200: {"type": "object", "additionalProperties": FILE_TYPE_SCHEMA}})
    @action(detail=True, methods=["get"], url_path="file-types", url_name="file-types")
    def file_types(self, request: Request, pk=None) -> Response:
        """``{file: FileType}`` of the files whose type is set."""
        return Response(services.detection_file_types(dataset=self.get_object()))

    # --- annotations ------------------------------------------------------------------------------------

    @extend_schema(responses={200: ANNOTATIONS_FILE_SCHEMA})
    @action(detail=True, methods=["get"], url_path="annotations", url_name="annotations")
    def annotations(self, request: Request, pk=None) -> Response:
        """The dataset's annotations, UFDL's ``AnnotationsFile``: ``{file: {"format"?, "dimensions"?,
        "length"?, "annotations": [...]}}`` for every file with a type or annotations."""
        return Response(services.detection_annotations(dataset=self.get_object()))

    @extend_schema(request={"application/json": ANNOTATIONS_FILE_SCHEMA}, responses={200: EMPTY_SCHEMA})
    @annotations.mapping.post
    def annotations_set(self, request: Request, pk=None) -> Response:
        """Replace every annotation with an ``AnnotationsFile``: the files named get its annotations and
        type (an entry with ``length`` is a video, whose annotations have a ``time``); the others lose
        their annotations. Every problem is reported at once (400; unknown files: 422) and nothing
        changes then. Answers ``{}``."""
        dataset = self.get_object()
        files = services.parse_annotations_file(request_json_object(request, empty=None))
        services.detection_annotations_set(dataset=dataset, files=files)
        return Response({})

    @extend_schema(request=None, responses={200: EMPTY_SCHEMA})
    @annotations.mapping.delete
    def annotations_clear(self, request: Request, pk=None) -> Response:
        """Remove every annotation (file types, labels and prefixes stay). Answers ``{}``."""
        services.detection_annotations_clear(dataset=self.get_object())
        return Response({})

    @extend_schema(responses={200: ANNOTATIONS_SCHEMA})
    @action(detail=True, methods=["get"], url_path=f"annotations/{FILE_IN_PATH}", url_name="file-annotations")
    def file_annotations(self, request: Request, pk=None, filename: str = "") -> Response:
        """One file's annotations (a list, empty when it has none); 404 for a file the dataset lacks."""
        return Response(services.detection_file_annotations(dataset=self.get_object(), filename=filename))

    def _file_annotations_change(self, request: Request, filename: str, *, add: bool) -> Response:
        dataset = self.get_object()
        annotations = services.parse_annotations(request_json_object(request, empty=None))
        services.detection_file_annotations_set(dataset=dataset, filename=filename, annotations=annotations, add=add)
        return Response({})

    @extend_schema(request={"application/json": ANNOTATIONS_SCHEMA}, responses={200: EMPTY_SCHEMA})
    @file_annotations.mapping.post
    def file_annotations_set(self, request: Request, pk=None, filename: str = "") -> Response:
        """Replace one file's annotations with a JSON array of annotations (a video's each have a ``time``,
        an image's none); their labels and prefixes join the dataset's. Answers ``{}``."""
        return self._file_annotations_change(request, filename, add=False)

    @extend_schema(request={"application/json": ANNOTATIONS_SCHEMA}, responses={200: EMPTY_SCHEMA})
    @file_annotations.mapping.patch
    def file_annotations_add(self, request: Request, pk=None, filename: str = "") -> Response:
        """Add annotations to one file (after those it has). Answers ``{}``."""
        return self._file_annotations_change(request, filename, add=True)

    @extend_schema(request=None, responses={200: EMPTY_SCHEMA})
    @file_annotations.mapping.delete
    def file_annotations_delete(self, request: Request, pk=None, filename: str = "") -> Response:
        """Remove one file's annotations (its type stays). Answers ``{}``."""
        services.detection_file_annotations_delete(dataset=self.get_object(), filename=filename)
        return Response({})


class ObjectDetectionDatasetViewSet(DetectionAnnotationsMixin, DatasetViewSet):
    """Object-detection datasets (``/v1/objdet/datasets``), with their labels, prefixes, file types and
    annotations."""

    domain_name = "od"
    serializer_class = ObjectDetectionDatasetSerializer

    def get_queryset(self):
        datasets = super().get_queryset()
        if self.action in self.annotation_actions:
            return datasets
        return services.detection_representation_prefetch(datasets)
