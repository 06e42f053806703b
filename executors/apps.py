"""App config of the executors (worker side)."""

from django.apps import AppConfig


class ExecutorsConfig(AppConfig):
    name = "executors"
    verbose_name = "Executors"

    def ready(self) -> None:
        # Workers report themselves to the registry; in other processes the signals never fire.
        from executors import worker_signals

        worker_signals.connect()
