"""Project configuration: settings, URLs, the Celery app, ASGI/WSGI and the shared API machinery."""

from config.celery import app as celery_app

__all__ = ["celery_app"]
