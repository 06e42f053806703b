from django.apps import AppConfig


class RunnersConfig(AppConfig):
    name = "runners"
    verbose_name = "Workers and nodes"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db import transaction
        from django.db.models.signals import post_delete, post_save

        from contracts.models import Hardware
        from runners.capabilities import forget_fleet_snapshot
        from runners.models import Node, Worker

        def forget(**signal) -> None:
            forget_fleet_snapshot()
            transaction.on_commit(forget_fleet_snapshot, using=signal.get("using"))

        for model in (Worker, Node, Hardware):
            post_save.connect(forget, sender=model, dispatch_uid=f"fleet-snapshot-save-{model.__name__}", weak=False)
            post_delete.connect(
                forget, sender=model, dispatch_uid=f"fleet-snapshot-delete-{model.__name__}", weak=False
            )
