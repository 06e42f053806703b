"""The server's default notifications per job kind, from ``settings.NOTIFICATION_DEFAULTS`` or UFDL's.

Both are written in the shape of an override's ``actions`` (``{"on_start": [notification, …], …}``,
UFDL's ``NotificationActions``). Ours differ from UFDL's in one point: UFDL's said
``"suppress_for_parent": false``, so every child of a meta-job printed and emailed as if it were a
job of its own; ours leave it out, so children stay quiet unless told otherwise (http-api.md §4.3).
"""

from __future__ import annotations

import json
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
    """The parsed defaults of a meta or workable job (invalid entries are left out; the check names them)."""
    return parse_actions(configured_defaults()["meta" if meta else "workable"], "NOTIFICATION_DEFAULTS", [])
