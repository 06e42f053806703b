"""App config of the data layer: teams, projects and datasets."""

from django.apps import AppConfig


class WorkspacesConfig(AppConfig):
    name = "workspaces"
    verbose_name = "Teams, projects and datasets"

    def ready(self) -> None:
        from workspaces.resident import register_dataset_binding

        # PK<Dataset<…>> and Name<Dataset<…>> values resolve to datasets (the binding lives with the model).
        register_dataset_binding()
        # Loading the dataset services registers their annotation kinds (copy/merge/clear carry them) and
        # connects the release of segmentation masks when their layers are deleted, in every process.
        import workspaces.services.datasets  # noqa: F401
