"""App config of job templates, jobs and job outputs."""

from django.apps import AppConfig


class JobTemplatesConfig(AppConfig):
    name = "jobtemplates"
    verbose_name = "Job templates and jobs"

    def ready(self) -> None:
        from jobtemplates.resident import register_job_output_binding

        # JobOutput<T> values resolve to job outputs (the type language's binding lives with the model).
        register_job_output_binding()
