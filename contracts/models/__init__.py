"""Models of the catalogue (domains, licences, frameworks, hardware, CUDA, docker images, pretrained
models) and the type/contract listings."""

from contracts.models.catalogue import (
    CUDAVersion,
    DockerImage,
    Domain,
    Framework,
    Hardware,
    Licence,
    PretrainedModel,
)
from contracts.models.registry import JobContract, JobType

__all__ = [
    "CUDAVersion",
    "DockerImage",
    "Domain",
    "Framework",
    "Hardware",
    "JobContract",
    "JobType",
    "Licence",
    "PretrainedModel",
]
