"""Models of the data layer: teams, memberships and projects; datasets, their files and annotations."""

from workspaces.models.annotations import Category, Transcription
from workspaces.models.datasets import (
    DOMAIN_DATASET_PROXIES,
    NO_PREVIOUS_VERSION,
    Dataset,
    DatasetFile,
    ImageClassificationDataset,
    ImageSegmentationDataset,
    ObjectDetectionDataset,
    SpectrumClassificationDataset,
    SpeechDataset,
)
from workspaces.models.detection import DetectionAnnotation, DetectionFileType, DetectionLabel, DetectionPrefix
from workspaces.models.segmentation import SegmentationLabel, SegmentationLayer, SegmentationMask
from workspaces.models.teams import PERMISSION_RANK, Membership, Permission, Project, Team, permission_at_least

__all__ = [
    "DOMAIN_DATASET_PROXIES",
    "NO_PREVIOUS_VERSION",
    "ImageClassificationDataset",
    "ImageSegmentationDataset",
    "ObjectDetectionDataset",
    "SpectrumClassificationDataset",
    "SpeechDataset",
    "PERMISSION_RANK",
    "Category",
    "Dataset",
    "DatasetFile",
    "DetectionAnnotation",
    "DetectionFileType",
    "DetectionLabel",
    "DetectionPrefix",
    "Membership",
    "Permission",
    "Project",
    "SegmentationLabel",
    "SegmentationLayer",
    "SegmentationMask",
    "Team",
    "Transcription",
    "permission_at_least",
]
