"""System checks: the configured default notifications parse, and NOTIFICATION_DEFAULT_EMAIL says auto, true
or false (``manage.py check`` names each problem)."""

from __future__ import annotations

from django.core.checks import Error, Tags, register

from notifications.defaults import default_email_problems, defaults_problems


@register(Tags.compatibility)
def check_notification_defaults(app_configs, **kwargs) -> list[Error]:
    return [
        Error(
            f"{problem.path}: {problem.message}",
            hint="see notifications/defaults.py for the shape",
            id="notifications.E001",
        )
        for problem in defaults_problems()
    ] + [
        Error(f"{problem.path}: {problem.message}", hint="see docs/notifications.md", id="notifications.E002")
        for problem in default_email_problems()
    ]
