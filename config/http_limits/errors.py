"""The errors of a request past a limit or holding text the database cannot store."""

from __future__ import annotations

from config.errors import ApplicationError, MalformedRequest, Problem


class BodyTooLarge(ApplicationError):
    """413: the body is larger than the limit for its kind (named in ``limit``, bytes)."""

    code = "body_too_large"
    status_code = 413
    default_detail = "The request body is too large."

    def __init__(self, *, limit: int, setting: str, size: int | None = None) -> None:
        got = f" ({size} bytes)" if size is not None else ""
        super().__init__(
            f"The request body{got} is larger than the limit of {limit} bytes ({setting}).",
            problems=[Problem(path="body", code="body_too_large", message=f"at most {limit} bytes")],
            extra={"limit": limit},
        )


class URLTooLong(ApplicationError):
    """414: the URL (path and query string) is longer than ``REQUEST_MAX_URL_BYTES``."""

    code = "url_too_long"
    status_code = 414
    default_detail = "The URL is too long."

    def __init__(self, *, limit: int, size: int) -> None:
        super().__init__(
            f"The URL ({size} bytes) is longer than the limit of {limit} bytes (REQUEST_MAX_URL_BYTES).",
            problems=[Problem(path="url", code="url_too_long", message=f"at most {limit} bytes")],
            extra={"limit": limit},
        )


class JSONTooDeep(MalformedRequest):
    """400: the JSON body nests arrays and objects deeper than ``REQUEST_JSON_MAX_DEPTH``."""

    code = "json_too_deep"

    def __init__(self, *, limit: int) -> None:
        super().__init__(
            f"The JSON body nests deeper than {limit} levels (REQUEST_JSON_MAX_DEPTH).",
            problems=[Problem(path="body", code="json_too_deep", message=f"at most {limit} levels of nesting")],
            extra={"limit": limit},
        )


class InvalidText(MalformedRequest):
    """400: text holding a NUL character or a lone surrogate (which no database column can store)."""

    code = "invalid_text"
    default_detail = "The request holds text that cannot be stored (a NUL character or a lone surrogate)."


class TooManyFields(MalformedRequest):
    """400: more query parameters or form fields than ``DATA_UPLOAD_MAX_NUMBER_FIELDS`` (or files than
    ``DATA_UPLOAD_MAX_NUMBER_FILES``)."""

    code = "too_many_fields"

    def __init__(self, *, limit: int, setting: str, what: str = "fields") -> None:
        super().__init__(
            f"The request has more than {limit} {what} ({setting}).",
            problems=[Problem(path="", code=f"too_many_{what}", message=f"at most {limit} {what}")],
            code=f"too_many_{what}",
            extra={"limit": limit},
        )
