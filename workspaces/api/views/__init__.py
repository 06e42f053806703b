"""Viewsets of the data layer: teams, projects, and datasets (core and per domain)."""

from workspaces.api.views.datasets import DatasetViewSet
from workspaces.api.views.detection import ObjectDetectionDatasetViewSet
from workspaces.api.views.domains import (
    ImageClassificationDatasetViewSet,
    SpectrumClassificationDatasetViewSet,
    SpeechDatasetViewSet,
)
from workspaces.api.views.segmentation import ImageSegmentationDatasetViewSet
from workspaces.api.views.teams import ProjectViewSet, TeamViewSet

__all__ = [
    "DatasetViewSet",
    "ImageClassificationDatasetViewSet",
    "ImageSegmentationDatasetViewSet",
    "ObjectDetectionDatasetViewSet",
    "ProjectViewSet",
    "SpectrumClassificationDatasetViewSet",
    "SpeechDatasetViewSet",
    "TeamViewSet",
]
