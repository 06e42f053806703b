"""The cap on client-written free text (descriptions, help texts, tags, transcriptions, error reasons).

``TEXT_FIELD_MAX_CHARS`` (default 10,000; UFDL's longest real description, across its templates and
ours, is 717 characters) applies wherever a client writes text that has no column limit of its own:
the DRF field ``config.api.fields.FreeTextField`` for serializers, ``text_problem`` for services
that read raw bodies (create-job, template import, node reports). Read at call time, so
``override_settings`` and the environment both apply.
"""

from __future__ import annotations

from django.conf import settings

from config.errors import Problem


def text_max_chars() -> int:
    """The current cap (``TEXT_FIELD_MAX_CHARS``)."""
    return int(settings.TEXT_FIELD_MAX_CHARS)


def text_too_long_message(length: int, limit: int | None = None) -> str:
    limit = text_max_chars() if limit is None else limit
    return f"at most {limit} characters (TEXT_FIELD_MAX_CHARS); this text has {length}"


def text_problem(value: str, path: str, *, limit: int | None = None) -> Problem | None:
    """A ``too_long`` problem at ``path`` when ``value`` is over the cap (or ``limit``), else None."""
    limit = text_max_chars() if limit is None else limit
    if len(value) <= limit:
        return None
    return Problem(path=path, code="too_long", message=text_too_long_message(len(value), limit))
