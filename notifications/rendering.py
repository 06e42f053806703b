"""What a notification sends for a transition: the notification data and each kind's rendered content.

Pure Python. Every kind uses the same data (http-api.md §4.3): messages, email subject and body go
through :func:`format_message`; webhooks and websockets send the data itself as JSON.
"""

from __future__ import annotations

import json
from typing import Any

from notifications.kinds import Notification
from notifications.messages import format_message, single_line


def json_safe(value: Any) -> Any:
    """``value`` as plain JSON (anything else, e.g. a date in executor progress data, as text)."""
    return json.loads(json.dumps(value, default=str))


def notification_data(*, job, action: str, transition_data: dict[str, Any], template: str) -> dict[str, Any]:
    """The data of ``job``'s transition ``action``: UFDL's fields, then ours (template, status).

    ``job`` is read, never queried: only its own fields; ``template`` is its template's ``name vN``.
    """
    return json_safe(
        {
            "transition": action.removeprefix("on_"),
            "description": job.description,
            "pk": job.pk,
            "progress": job.progress,
            "cancelled": job.is_cancelled,
            "node": job.node_id,
            "error": job.error_reason,
            "transition_data": transition_data,
            "template": template,
            "status": job.status,
        }
    )


def render_content(notification: Notification, data: dict[str, Any], *, creator_email: str | None) -> dict[str, Any]:
    """What ``notification`` sends with ``data``: stored on its delivery record as sent."""
    if notification.kind == "print":
        return {"message": format_message(notification.get("message"), data)}
    if notification.kind == "email":
        to = notification.get("to")
        return {
            "subject": single_line(format_message(notification.get("subject"), data)),
            "body": format_message(notification.get("body"), data),
            # No `to`: the job's creator (nobody when the creator has no address; the delivery says so).
            "to": list(to) if to else ([creator_email] if creator_email else []),
            "cc": list(notification.get("cc", ())),
            "bcc": list(notification.get("bcc", ())),
        }
    if notification.kind == "webhook":
        return {"url": notification.get("url"), "payload": data}
    return data
