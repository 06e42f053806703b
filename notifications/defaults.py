"""The server's default notifications per job kind, from ``settings.NOTIFICATION_DEFAULTS`` or UFDL's.

Both are written in the shape of an override's ``actions`` (``{"on_start": [notification, …], …}``,
UFDL's ``NotificationActions``). Ours differ from UFDL's in one point: UFDL's said
``"suppress_for_parent": false``, so every child of a meta-job printed and emailed as if it were a
job of its own; ours leave it out, so children stay quiet unless told otherwise (http-api.md §4.3).
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from django.conf import settings

from notifications.kinds import Notification, NotificationProblem, parse_actions

JOB_KINDS = ("workable", "meta")

UFDL_DEFAULTS: dict[str, dict[str, list[dict[str, Any]]]] = {
    "workable": {
        "on_start": [
            {"message": "Job #{pk} started"},
            {
                "subject": "Job #{pk} started",
                "body": "Job #{pk} ({template}) has now been started.\n\nJob description:\n{description}\n",
            },
        ],
        "on_finish": [{"message": "Job #{pk} finished"}],
        "on_error": [{"message": "Job #{pk} finished with error:\n{error}"}],
    },
    "meta": {
        "on_start": [
            {"message": "Job #{pk} started"},
            {
                "subject": "Job #{pk} started",
                "body": "Job #{pk} ({template}) has now been started (triggered by a sub-job).\n\n"
                "Job description:\n{description}\n",
            },
        ],
        "on_finish": [{"message": "Job #{pk} finished"}],
        "on_error": [{"message": "Job #{pk} finished with error:\n{error}"}],
    },
}


def _setting() -> Any:
    """``settings.NOTIFICATION_DEFAULTS``: a dict, JSON text (from the environment) or None."""
    configured = getattr(settings, "NOTIFICATION_DEFAULTS", None) or {}
    if isinstance(configured, str):
        try:
            return json.loads(configured)
        except ValueError:
            return configured  # reported by the system check
    return configured


def configured_defaults() -> dict[str, Any]:
    """The raw defaults per job kind: the setting's where it names the kind, UFDL's elsewhere."""
    configured = _setting()
    if not isinstance(configured, dict):
        return {kind: {} for kind in JOB_KINDS}  # reported by the system check
    return {kind: configured.get(kind, UFDL_DEFAULTS[kind]) for kind in JOB_KINDS}


def defaults_problems() -> list[NotificationProblem]:
    """Everything wrong with the configured defaults, each with its path (for ``manage.py check``)."""
    configured = _setting()
    problems: list[NotificationProblem] = []
    if not isinstance(configured, dict):
        return [
            NotificationProblem(
                "NOTIFICATION_DEFAULTS", "wrong_type", 'an object: {"workable": actions, "meta": actions}'
            )
        ]
    for key in sorted(set(configured) - set(JOB_KINDS)):
        problems.append(
            NotificationProblem(f"NOTIFICATION_DEFAULTS.{key}", "unknown_key", "the job kinds are workable and meta")
        )
    for kind, raw in configured_defaults().items():
        parse_actions(raw, f"NOTIFICATION_DEFAULTS.{kind}", problems)
    return problems


def default_actions(*, meta: bool) -> dict[str, list[Notification]]:
    """The parsed defaults of a meta or workable job (invalid entries are left out; the check names them).

    Parsed once per value of the setting (text or none, as the environment gives it); a dict (set in
    code, or by a test) is parsed each time. The caller must not change what it is given."""
    raw = getattr(settings, "NOTIFICATION_DEFAULTS", None)
    if raw is None or isinstance(raw, str):
        return _parsed_defaults(raw)["meta" if meta else "workable"]
    return _parse_defaults()["meta" if meta else "workable"]


def _parse_defaults() -> dict[str, dict[str, list[Notification]]]:
    return {kind: parse_actions(raw, "NOTIFICATION_DEFAULTS", []) for kind, raw in configured_defaults().items()}


@lru_cache(maxsize=8)
def _parsed_defaults(raw: str | None) -> dict[str, dict[str, list[Notification]]]:
    return _parse_defaults()


# Backends that deliver to nobody: a deployment that names neither has not configured email.
UNDELIVERING_EMAIL_BACKENDS = frozenset(
    {"django.core.mail.backends.console.EmailBackend", "django.core.mail.backends.dummy.EmailBackend"}
)
_TRUE, _FALSE = frozenset({"1", "true", "yes", "on"}), frozenset({"0", "false", "no", "off"})


def default_email_enabled() -> bool:
    """Whether the defaults' email notifications are sent (NOTIFICATION_DEFAULT_EMAIL): "auto" when an
    email backend that delivers is configured; "true"/"false" (or 1/0, yes/no, on/off) as they say."""
    value = _default_email_setting()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    return settings.EMAIL_BACKEND not in UNDELIVERING_EMAIL_BACKENDS  # "auto" (and anything else: the check says)


def _default_email_setting() -> str:
    value = getattr(settings, "NOTIFICATION_DEFAULT_EMAIL", "auto")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).strip().lower()


def default_email_problems() -> list[NotificationProblem]:
    """What is wrong with NOTIFICATION_DEFAULT_EMAIL (for ``manage.py check``)."""
    if _default_email_setting() in _TRUE | _FALSE | {"auto"}:
        return []
    return [NotificationProblem("NOTIFICATION_DEFAULT_EMAIL", "invalid_value", "auto, true or false")]
