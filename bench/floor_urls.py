"""The product's URLs plus two benchmark routes, served by the same server as the routes measured:

* ``GET bench/floor/<pk>``: the floor, a DRF view with the project's default authentication (JWT) and
  ``IsAuthenticated`` that reads one PostgreSQL row (a domain, ``.values()``) and answers it: what any
  authenticated API call costs in this server before the service's own work;
* ``GET bench/settings``: the database settings as the serving process sees them (a server's
  configuration may set its own defaults, e.g. ``DB_CONN_MAX_AGE`` under gunicorn), its pid and threads.
"""

from __future__ import annotations

import os
import threading

from django.conf import settings
from django.db import connection
from django.urls import path
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.urls import handler400, handler403, handler404, handler500
from config.urls import urlpatterns as product_urlpatterns
from contracts.models import Domain


class FloorView(APIView):
    """One domain row by pk, as a plain dict (404 when there is none)."""

    permission_classes = [IsAuthenticated]

    def get(self, request: Request, pk: int) -> Response:
        row = Domain.objects.filter(pk=pk).values().first()
        if row is None:
            return Response({"detail": "no such domain"}, status=404)
        return Response(row)


class ServerSettingsView(APIView):
    """The settings that shape the figures, read in the serving process."""

    permission_classes = [IsAuthenticated]

    def get(self, request: Request) -> Response:
        database = settings.DATABASES["default"]
        options = database.get("OPTIONS") or {}
        return Response(
            {
                "pid": os.getpid(),
                "threads": threading.active_count(),
                "vendor": connection.vendor,
                "CONN_MAX_AGE": database.get("CONN_MAX_AGE"),
                "CONN_HEALTH_CHECKS": database.get("CONN_HEALTH_CHECKS", False),
                "pool": options.get("pool") or None,
                "DB_CONN_MAX_AGE": os.environ.get("DB_CONN_MAX_AGE"),
                "DEBUG": settings.DEBUG,
                "authentication": settings.REST_FRAMEWORK.get("DEFAULT_AUTHENTICATION_CLASSES"),
                "CELERY_BROKER_URL": settings.CELERY_BROKER_URL.split("://", 1)[0] + "://…",
            }
        )


urlpatterns = [
    path("bench/floor/<int:pk>", FloorView.as_view(), name="bench-floor"),
    path("bench/settings", ServerSettingsView.as_view(), name="bench-settings"),
    *product_urlpatterns,
]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
