"""App config for the project package (management commands, templates, admin branding)."""

from django.apps import AppConfig


class ConfigConfig(AppConfig):
    name = "config"
    label = "config"
    verbose_name = "Service"
