"""Models of the data layer: teams, memberships and projects; datasets, their files and annotations."""

from workspaces.models.annotations import Category, Transcription
from workspaces.models.datasets import NO_PREVIOUS_VERSION, Dataset, DatasetFile
from workspaces.models.detection import DetectionAnnotation, DetectionFileType, DetectionLabel, DetectionPrefix
from workspaces.models.segmentation import SegmentationLabel, SegmentationLayer, SegmentationMask
from workspaces.models.teams import PERMISSION_RANK, Membership, Permission, Project, Team, permission_at_least

__all__ = [
    "NO_PREVIOUS_VERSION",
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
