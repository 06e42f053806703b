"""Three of the five domain routes (``/v1/classify``, ``/v1/spectra``, ``/v1/speech`` + ``/datasets``): the
core dataset routes for one domain (creating there sets it), plus each domain's annotations in UFDL's
shapes: classification categories (image and spectrum) and speech transcriptions. Object detection and
image segmentation have modules of their own (``detection``, ``segmentation``)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from config.api.viewsets import request_json_object
from config.errors import MalformedRequest, Problem
from contracts.api.views.common import parse_input
from workspaces.api.serializers import (
    CategoriesChangeSerializer,
    CategoriesDatasetSerializer,
    SpeechDatasetSerializer,
    TranscriptionSerializer,
)
from workspaces.api.views.datasets import DatasetViewSet
from workspaces.selectors import dataset_file_get
from workspaces.services import datasets as services

CATEGORIES_FILE_SCHEMA = {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}}
TRANSCRIPTION_SCHEMA = {"type": "object", "properties": {"transcription": {"type": "string"}}}
FILE_IN_PATH = r"(?P<filename>.+?)"


def categories_file(body: Any) -> dict[str, list[str]]:
    """A checked ``CategoriesFile`` body (``{file: [unique non-empty labels]}``): every problem at once."""
    if not isinstance(body, dict):
        raise MalformedRequest(
            problems=[Problem(path="", code="wrong_type", message="an object: file name → list of categories")]
        )
    problems = []
    for name, labels in body.items():
        problems += services.filename_problems(name, path=name)
        if not isinstance(labels, list):
            problems.append(Problem(path=name, code="wrong_type", message="a list of categories"))
            continue
        for index, label in enumerate(labels):
            problems += services.label_problems(label, f"{name}[{index}]")
        if all(isinstance(label, str) for label in labels) and len(set(labels)) != len(labels):
            problems.append(Problem(path=name, code="not_unique", message="the categories must be unique"))
    if problems:
        raise MalformedRequest(f"{len(problems)} problem(s) in the categories.", problems=problems)
    return body


class CategoriesMixin(viewsets.GenericViewSet):
    """``{pk}/categories``: GET the categories, POST a ``CategoriesFile`` to set them, PATCH a
    ``CategoriesModSpec`` to add or remove some; ``{pk}/categories/{file}``: one file's."""

    @extend_schema(responses={200: CATEGORIES_FILE_SCHEMA})
    @action(detail=True, methods=["get"], url_path="categories", url_name="categories")
    def categories(self, request: Request, pk=None) -> Response:
        """The categories of the dataset's files: ``{file: [category, …]}`` (files without any left out)."""
        return Response(services.dataset_categories(dataset=self.get_object()))

    @extend_schema(request={"application/json": CATEGORIES_FILE_SCHEMA}, responses={200: CATEGORIES_FILE_SCHEMA})
    @categories.mapping.post
    def categories_set(self, request: Request, pk=None) -> Response:
        """Set the categories of the files named (``{file: [category, …]}``; ``[]`` clears a file's);
        other files keep theirs. Unknown files are a 422 and nothing changes. Answers what was set."""
        dataset = self.get_object()
        body = categories_file(request_json_object(request, empty=None))
        return Response(services.dataset_categories_set(dataset=dataset, categories=body))

    @extend_schema(request=CategoriesChangeSerializer, responses={200: CATEGORIES_FILE_SCHEMA})
    @categories.mapping.patch
    def categories_change(self, request: Request, pk=None) -> Response:
        """Add or remove categories: ``{"method": "add"|"remove", "images": [file, …], "categories":
        [category, …]}`` (every image gets or loses every category). Unknown images are a 422 and nothing
        changes. Answers only what changed: ``{file: [category, …]}``."""
        dataset = self.get_object()
        body = parse_input(CategoriesChangeSerializer, request.data).validated_data
        problems = [
            problem
            for index, label in enumerate(body["categories"])
            for problem in services.label_problems(label, f"categories[{index}]")
        ]
        if problems:
            raise MalformedRequest(problems=problems)
        change = services.dataset_categories_add if body["method"] == "add" else services.dataset_categories_remove
        return Response(change(dataset=dataset, images=body["images"], categories=body["categories"]))

    @extend_schema(responses={200: {"type": "array", "items": {"type": "string"}}})
    @action(detail=True, methods=["get"], url_path=f"categories/{FILE_IN_PATH}", url_name="file-categories")
    def file_categories(self, request: Request, pk=None, filename: str = "") -> Response:
        """One file's categories (a list; empty when it has none); 404 for a file the dataset lacks."""
        dataset = self.get_object()
        dataset_file_get(dataset=dataset, filename=filename)
        return Response(services.dataset_categories(dataset=dataset, filenames=[filename]).get(filename, []))


class TranscriptionsMixin(viewsets.GenericViewSet):
    """``{pk}/transcriptions``: every file's; ``{pk}/transcriptions/{file}``: GET or POST one file's."""

    @extend_schema(responses={200: {"type": "object", "additionalProperties": TRANSCRIPTION_SCHEMA}})
    @action(detail=True, methods=["get"], url_path="transcriptions", url_name="transcriptions")
    def transcriptions(self, request: Request, pk=None) -> Response:
        """Every transcribed file's transcription: ``{file: {"transcription": "…"}}``."""
        return Response(services.dataset_transcriptions(dataset=self.get_object()))

    @extend_schema(responses={200: TRANSCRIPTION_SCHEMA})
    @action(detail=True, methods=["get"], url_path=f"transcriptions/{FILE_IN_PATH}", url_name="transcription")
    def transcription(self, request: Request, pk=None, filename: str = "") -> Response:
        """One file's transcription (``""`` when it has none); 404 for a file the dataset lacks."""
        return Response(services.dataset_transcription(dataset=self.get_object(), filename=filename))

    @extend_schema(request=TranscriptionSerializer, responses={200: TRANSCRIPTION_SCHEMA})
    @transcription.mapping.post
    def transcription_set(self, request: Request, pk=None, filename: str = "") -> Response:
        """Set one file's transcription: ``{"transcription": "…"}``; answers it."""
        body = parse_input(TranscriptionSerializer, request.data).validated_data
        return Response(
            services.dataset_transcription_set(
                dataset=self.get_object(), filename=filename, transcription=body["transcription"]
            )
        )


class ImageClassificationDatasetViewSet(CategoriesMixin, DatasetViewSet):
    """Image-classification datasets (``/v1/classify/datasets``), with their categories."""

    domain_name = "ic"
    serializer_class = CategoriesDatasetSerializer
    representation_extras = {"categories": True}


class SpectrumClassificationDatasetViewSet(CategoriesMixin, DatasetViewSet):
    """Spectrum-classification datasets (``/v1/spectra/datasets``), with their categories."""

    domain_name = "sc"
    serializer_class = CategoriesDatasetSerializer
    representation_extras = {"categories": True}


class SpeechDatasetViewSet(TranscriptionsMixin, DatasetViewSet):
    """Speech datasets (``/v1/speech/datasets``), with their transcriptions."""

    domain_name = "sp"
    serializer_class = SpeechDatasetSerializer
    representation_extras = {"transcriptions": True}
