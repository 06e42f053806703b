"""App config of job templates, jobs and job outputs."""

from django.apps import AppConfig


class JobTemplatesConfig(AppConfig):
    name = "jobtemplates"
    verbose_name = "Job templates and jobs"

    def ready(self) -> None:
        from jobtemplates import selectors
        from jobtemplates.representations.invalidation import connect_invalidation
        from jobtemplates.resident import register_job_output_binding
        from jobtemplates.services.jobs.references import dataset_used_by_jobs
        from runners.holdings import Holdings, holdings_register
        from workspaces.services.datasets import dataset_reference_check_register

        # JobOutput<T> values resolve to job outputs (the type language's binding lives with the model).
        register_job_output_binding()
        # Jobs name datasets inside JSON values: a dataset's hard delete must see them.
        dataset_reference_check_register(dataset_used_by_jobs)
        # The runner registry's pages show the jobs each runner holds: jobs are read here, not by runners.
        holdings_register(
            Holdings(
                worker_current_jobs=selectors.worker_current_jobs,
                workers_with_current_jobs=selectors.workers_with_current_jobs,
                nodes_with_jobs=selectors.nodes_with_jobs,
                node_held_job_id=selectors.node_held_job_id,
            )
        )
        # Kept representations read domain and licence names: their saves drop those kept rows.
        connect_invalidation()
