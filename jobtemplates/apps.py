"""App config of job templates, jobs and job outputs."""

from django.apps import AppConfig


class JobTemplatesConfig(AppConfig):
    name = "jobtemplates"
    verbose_name = "Job templates and jobs"
