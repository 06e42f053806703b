"""The Django admin for curators and operators: templates (templates), and jobs as an operations console
(jobs, with job_actions, job_console and relaunch_form). Importing the package registers both."""

from jobtemplates.admin.jobs import IdempotencyKeyAdmin, JobAdmin, JobOutputAdmin
from jobtemplates.admin.templates import JobTemplateAdmin, MetaTemplateAdmin, WorkableTemplateAdmin

__all__ = [
    "IdempotencyKeyAdmin",
    "JobAdmin",
    "JobOutputAdmin",
    "JobTemplateAdmin",
    "MetaTemplateAdmin",
    "WorkableTemplateAdmin",
]
