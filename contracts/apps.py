"""App config of the type language's Django side: the catalogue its types point at."""

from django.apps import AppConfig


class ContractsConfig(AppConfig):
    name = "contracts"
    verbose_name = "Catalogue, types and contracts"

    def ready(self) -> None:
        from django.conf import settings
        from django.db.models.signals import post_migrate

        from contracts.types.limits import configure

        configure(max_chars=settings.TYPE_STRING_MAX_CHARS, max_depth=settings.TYPE_MAX_DEPTH)

        from contracts.services.registry_sync import sync_registries_after_migrate

        post_migrate.connect(sync_registries_after_migrate, sender=self)
