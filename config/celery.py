"""The Celery application; tasks declare their own names and policy, settings come from Django."""

import os

from celery import Celery

from config.broker import register_transports

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
register_transports()

app = Celery("config")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
