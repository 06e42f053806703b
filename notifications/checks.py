"""System checks: the configured default notifications parse (``manage.py check`` names each problem)."""

from __future__ import annotations

from django.core.checks import Error, Tags, register

from notifications.defaults import defaults_problems


@register(Tags.compatibility)
def check_notification_defaults(app_configs, **kwargs) -> list[Error]:
    return [
        Error(
            f"{problem.path}: {problem.message}",
            hint="see notifications/defaults.py for the shape",
            id="notifications.E001",
        )
        for problem in defaults_problems()
    ]
