"""Database faults: a refused, stalled or too slow database answers 503 with the error envelope, never a 500.

Connections give up after ``DB_CONNECT_TIMEOUT_SECONDS`` and statements after ``DB_STATEMENT_TIMEOUT_MS``
(config/settings.py); what they raise (Django's ``OperationalError`` or ``InterfaceError``) is rendered
here: by the API's exception handler for DRF views (authentication included), by
``DatabaseFaultMiddleware`` for plain Django views (the admin), and by the 500 handler for what fails
outside any view (a middleware saving the session). The client is told to come back (``Retry-After``);
the driver's message, which names hosts and ports, goes to the log only.
"""

from __future__ import annotations

import logging
import sys

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, JsonResponse

logger = logging.getLogger(__name__)

DATABASE_FAULTS = (OperationalError, InterfaceError)
# PostgreSQL's query_canceled: statement_timeout (or a cancel request) stopped the statement.
QUERY_CANCELED = "57014"


def database_fault(exc: BaseException | None) -> tuple[str, str] | None:
    """``(code, detail)`` when ``exc`` says the database is unavailable or too slow, else None."""
    if not isinstance(exc, DATABASE_FAULTS):
        return None
    if getattr(exc.__cause__, "pgcode", None) == QUERY_CANCELED:
        logger.warning("database statement timed out: %s", str(exc).strip()[:300])
        return (
            "database_timeout",
            "The database did not answer in time; nothing was changed. Try again shortly.",
        )
    logger.warning("database unavailable: %s", str(exc).strip()[:300])
    return "database_unavailable", "The database is unavailable; nothing was changed. Try again shortly."


def database_fault_body(code: str, detail: str) -> dict:
    """The error envelope of a database fault (no located problems: the request itself was fine)."""
    return {"detail": detail, "code": code, "errors": []}


def retry_after_header() -> dict[str, str]:
    return {"Retry-After": str(settings.DB_RETRY_AFTER_SECONDS)}


def database_fault_response(exc: BaseException | None) -> JsonResponse | None:
    """A 503 for a database fault (a plain Django response), or None for any other exception."""
    fault = database_fault(exc)
    if fault is None:
        return None
    return JsonResponse(database_fault_body(*fault), status=503, headers=retry_after_header())


def current_database_fault_response() -> JsonResponse | None:
    """For the 500 handler: a 503 when the exception being handled is a database fault."""
    return database_fault_response(sys.exc_info()[1])


class DatabaseFaultMiddleware:
    """Plain Django views (the admin, session and login lookups) answer a database fault with a 503."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> JsonResponse | None:
        return database_fault_response(exception)
