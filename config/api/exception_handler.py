"""One exception handler: every error becomes ``{"detail", "code", "errors": [...]}``.

It renders our ``ApplicationError``s, DRF's exceptions (validation, auth, parse, 404, 405, 415 …),
the database errors a client could still provoke (a protected row, a uniqueness race, a value out of
range), so that nothing a client sends turns into a 500, and database faults (refused, stalled, timed
out: a 503 with ``Retry-After``, config/db_faults.py), wherever in the view they happen (authentication
included).
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError
from django.db.models import ProtectedError, RestrictedError
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import set_rollback

from config.db_faults import database_fault, database_fault_body, retry_after_header
from config.errors import ApplicationError, Problem, join_path, problems_summary

logger = logging.getLogger(__name__)

# DRF exception class → our stable code (DRF's own codes are kept for the rest).
DRF_CODES: dict[type[drf.APIException], str] = {
    drf.ParseError: "malformed_request",
    drf.NotAuthenticated: "not_authenticated",
    drf.AuthenticationFailed: "authentication_failed",
    drf.PermissionDenied: "permission_denied",
    drf.NotFound: "not_found",
    drf.MethodNotAllowed: "method_not_allowed",
    drf.NotAcceptable: "not_acceptable",
    drf.UnsupportedMediaType: "unsupported_media_type",
    drf.Throttled: "throttled",
    drf.ValidationError: "invalid",
}


def error_body(*, detail: str, code: str, problems: list[Problem] | None = None, **extra: Any) -> dict:
    """The error envelope."""
    body = {"detail": detail, "code": code, "errors": [p.as_dict() for p in problems or []]}
    body.update(extra)
    return body


def flatten_drf_detail(detail: Any, path: str = "") -> list[Problem]:
    """Turn DRF's nested error detail (dicts, lists, ErrorDetail strings) into located problems."""
    if isinstance(detail, dict):
        problems: list[Problem] = []
        for key, value in detail.items():
            if key in ("non_field_errors", "detail"):
                key_path = path
            elif isinstance(key, int) or (isinstance(key, str) and key.isascii() and key.isdigit()):
                key_path = join_path(path, int(key))  # a list field's item: permissions[1]
            else:
                key_path = join_path(path, str(key))
            problems.extend(flatten_drf_detail(value, key_path))
        return problems
    if isinstance(detail, list):
        problems = []
        for index, value in enumerate(detail):
            # A list of messages for one field keeps the field's path; a list of nested objects
            # (one per item of a list field) indexes into it.
            item_path = join_path(path, index) if isinstance(value, dict | list) else path
            problems.extend(flatten_drf_detail(value, item_path))
        return problems
    code = getattr(detail, "code", None) or "invalid"
    return [Problem(path=path, code=str(code), message=str(detail))]


def _drf_response(exc: drf.APIException) -> Response:
    headers = {}
    auth_header = getattr(exc, "auth_header", None)
    if auth_header:
        headers["WWW-Authenticate"] = auth_header
    wait = getattr(exc, "wait", None)
    if wait:
        headers["Retry-After"] = str(int(wait))
    code = next((c for cls, c in DRF_CODES.items() if isinstance(exc, cls)), None)
    if isinstance(exc, drf.ValidationError):
        problems = flatten_drf_detail(exc.detail)
        detail = problems_summary(problems, "Invalid input.")
    else:
        detail = str(exc.detail) if not isinstance(exc.detail, dict | list) else "Request failed."
        problems = []
        codes = exc.get_codes()
        code = code or (codes if isinstance(codes, str) else "error")
        if isinstance(exc, drf.AuthenticationFailed) and isinstance(exc.detail, dict):
            # simplejwt's InvalidToken carries {"detail", "code", "messages"}; keep its one-liner.
            detail = str(exc.detail.get("detail", "Authentication failed."))
            code = "token_not_valid" if exc.detail.get("code") == "token_not_valid" else code
    set_rollback()
    return Response(
        error_body(detail=detail, code=code or "error", problems=problems), exc.status_code, headers=headers
    )


def exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's EXCEPTION_HANDLER."""
    if isinstance(exc, ApplicationError):
        set_rollback()
        detail = exc.detail
        if exc.problems and detail == exc.default_detail:
            detail = problems_summary(exc.problems, detail)
        return Response(
            error_body(detail=detail, code=exc.code, problems=exc.problems, **exc.extra), status=exc.status_code
        )
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = drf.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    if isinstance(exc, drf.APIException):
        return _drf_response(exc)
    if isinstance(exc, ProtectedError | RestrictedError):
        set_rollback()
        blocking = exc.protected_objects if isinstance(exc, ProtectedError) else exc.restricted_objects
        objects = sorted({str(obj) for obj in list(blocking)[:10]})
        problems = [Problem(path="", code="referenced", message=f"referenced by {name}") for name in objects]
        return Response(
            error_body(
                detail="The object is still referenced and cannot be deleted.", code="referenced", problems=problems
            ),
            status=409,
        )
    if isinstance(exc, IntegrityError):
        logger.info("integrity error answered as 409: %s", exc)
        set_rollback()
        return Response(error_body(detail="The request conflicts with existing data.", code="conflict"), status=409)
    if isinstance(exc, DataError):
        logger.info("data error answered as 400: %s", exc)
        set_rollback()
        return Response(error_body(detail="A value is out of range or malformed.", code="invalid_value"), status=400)
    fault = database_fault(exc)
    if fault is not None:
        set_rollback()
        return Response(database_fault_body(*fault), status=503, headers=retry_after_header())
    return None
