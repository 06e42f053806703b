"""Job outputs for the server-resident type tests (the catalogue and dataset factories are tests/factories.py's)."""

from __future__ import annotations

from jobtemplates.models import Job, JobOutput, JobTemplate, TemplateScope
from tests.factories import LicenceFactory


def job_output(
    *, type_: str, creator=None, scope: str = TemplateScope.PUBLIC, name: str = "model", project=None, **fields
) -> JobOutput:
    """A job output of ``type_`` on a fresh job (by ``creator``, in ``project``) of a fresh template of
    ``scope``."""
    template = JobTemplate.objects.create(
        name=f"template{JobTemplate.objects.count()}",
        version=1,
        scope=scope,
        licence=LicenceFactory(),
        creator=creator,
        contract="Export",
        contract_name="Export",
    )
    job = Job.objects.create(template=template, creator=creator, project=project)
    return JobOutput.objects.create(job=job, name=name, type=type_, file=f"job-outputs/{job.pk}/{name}", **fields)
