"""App config of the type language's Django side: the catalogue its types point at."""

from django.apps import AppConfig


class ContractsConfig(AppConfig):
    name = "contracts"
    verbose_name = "Catalogue, types and contracts"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from contracts.services.registry_sync import sync_registries_after_migrate

        post_migrate.connect(sync_registries_after_migrate, sender=self)
