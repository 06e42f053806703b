"""Models of job templates (workable and meta), their parameters and graphs, jobs and job outputs."""

from jobtemplates.models.idempotency import IdempotencyKey
from jobtemplates.models.jobs import FINAL_STATUSES, Job, JobOutput, JobReference, JobStatus
from jobtemplates.models.templates import (
    JobTemplate,
    MetaDependency,
    MetaNode,
    MetaTemplate,
    Parameter,
    TemplateKind,
    TemplateRepresentation,
    TemplateScope,
    WorkableTemplate,
)

__all__ = [
    "FINAL_STATUSES",
    "IdempotencyKey",
    "Job",
    "JobOutput",
    "JobReference",
    "JobStatus",
    "JobTemplate",
    "MetaDependency",
    "MetaNode",
    "MetaTemplate",
    "Parameter",
    "TemplateKind",
    "TemplateRepresentation",
    "TemplateScope",
    "WorkableTemplate",
]
