"""Application errors: one base with a stable code, an HTTP status and located problems.

Domain code (services, selectors, validators) raises these; it never imports DRF. The API's exception
handler renders every error as ``{"detail", "code", "errors": [{"path", "code", "message"}]}``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One located problem: where (a dotted/indexed path into the request), what (a code) and why."""

    path: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "code": self.code, "message": self.message}


def join_path(prefix: str, path: str | int) -> str:
    """Join a path prefix and a key: ``a`` + ``b`` → ``a.b``; ``a`` + ``0`` (int) → ``a[0]``."""
    if isinstance(path, int):
        return f"{prefix}[{path}]"
    if not prefix:
        return path
    if not path:
        return prefix
    if path.startswith("["):
        return prefix + path
    return f"{prefix}.{path}"


class ApplicationError(Exception):
    """Base of every error the service raises on purpose."""

    code = "error"
    status_code = 400
    default_detail = "The request could not be processed."

    def __init__(
        self,
        detail: str | None = None,
        *,
        problems: Iterable[Problem] = (),
        code: str | None = None,
        extra: dict | None = None,
    ) -> None:
        self.detail = detail or self.default_detail
        self.problems: list[Problem] = list(problems)
        if code is not None:
            self.code = code
        # Extra top-level keys for the error body (e.g. the current status of a job on a 409).
        self.extra = extra or {}
        super().__init__(self.detail)


class MalformedRequest(ApplicationError):
    """The body or a query value cannot be read (bad syntax, wrong shape)."""

    code = "malformed_request"
    status_code = 400
    default_detail = "The request is malformed."


class InvalidRequest(ApplicationError):
    """The request is well-formed but semantically invalid (wrong type, bad value, missing row…)."""

    code = "invalid_request"
    status_code = 422
    default_detail = "The request is invalid."


class NotFound(ApplicationError):
    code = "not_found"
    status_code = 404
    default_detail = "Not found."


class PermissionDenied(ApplicationError):
    code = "permission_denied"
    status_code = 403
    default_detail = "You do not have permission to perform this action."


class Conflict(ApplicationError):
    """A state conflict: illegal transition, referenced row, duplicate identity."""

    code = "conflict"
    status_code = 409
    default_detail = "The request conflicts with the current state."


def problems_summary(problems: Sequence[Problem], fallback: str) -> str:
    """A one-line ``detail`` for a list of problems."""
    if not problems:
        return fallback
    first = problems[0]
    where = f"{first.path}: " if first.path else ""
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"{where}{first.message}{more}"


class NotBuilt(ApplicationError):
    """A route or option of UFDL's API that this service does not provide (yet): 501, never a 404 or 500."""

    code = "not_implemented"
    status_code = 501
    default_detail = "This is not built in this service."
