"""``/healthz``: database and broker reachability, for load balancers and humans.

It answers within a few seconds whatever the database does: a connection gives up after
``DB_CONNECT_TIMEOUT_SECONDS``, a statement after ``DB_STATEMENT_TIMEOUT_MS``, the broker after 2 s.
"""

from __future__ import annotations

import time

from django.db import connection
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from config.celery import app as celery_app
from config.db_faults import retry_after_header


def database_status() -> dict:
    started = time.perf_counter()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "down"; the message says why
        return {"ok": False, "error": str(exc)[:200]}
    return {"ok": True, "vendor": connection.vendor, "ms": round((time.perf_counter() - started) * 1000, 2)}


def broker_url() -> str:
    """The URL the workers' tasks are sent to."""
    return celery_app.conf.broker_write_url or celery_app.conf.broker_url


def broker_status() -> dict:
    started = time.perf_counter()
    try:
        # A connection of its own (not the producer pool), so a check never disturbs task sending.
        with celery_app.connection_for_write(broker_url()) as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            transport = conn.transport_cls if isinstance(conn.transport_cls, str) else conn.transport.driver_name
    except Exception as exc:  # unreachable broker, bad URL: report, don't raise
        return {"ok": False, "error": str(exc)[:200]}
    return {"ok": True, "transport": str(transport), "ms": round((time.perf_counter() - started) * 1000, 2)}


class HealthView(APIView):
    """Health of the database and the broker: 200 when both answer, 503 otherwise."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(responses={200: OpenApiTypes.OBJECT, 503: OpenApiTypes.OBJECT})
    def get(self, request):
        """``{"status": "ok", "database": {...}, "broker": {...}}``; when either is down, a 503 that is also
        the error envelope (``detail``, ``code`` ``database_unavailable``, ``broker_unavailable`` or
        ``unavailable`` when both are, ``errors`` naming each failed check) with ``Retry-After``."""
        checks = {"database": database_status(), "broker": broker_status()}
        failed = [name for name, check in checks.items() if not check["ok"]]
        if not failed:
            return Response({"status": "ok", **checks})
        envelope = {
            "detail": f"Unavailable: {' and '.join(failed)}.",
            "code": f"{failed[0]}_unavailable" if len(failed) == 1 else "unavailable",
            "errors": [{"path": name, "code": "unavailable", "message": checks[name]["error"]} for name in failed],
        }
        return Response({**envelope, "status": "unavailable", **checks}, status=503, headers=retry_after_header())


class RootView(APIView):
    """Where to start: links to the API documentation, schema and admin."""

    permission_classes = [AllowAny]
    authentication_classes: list = []
    schema = None  # not part of the API

    def get(self, request):
        return Response(
            {
                "service": "job-template service",
                "api": "/v1/",
                "docs": "/v1/docs",
                "schema": "/v1/schema",
                "admin": "/admin/",
                "health": "/healthz",
            }
        )
