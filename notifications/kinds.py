"""Notification objects (http-api.md §4.3), told apart by their keys, and the actions that carry them.

Pure Python: parsing collects every problem with its path, so create-job can answer one 422 naming
each bad notification. Which notifications a job's transition sends is decided here too
(:func:`merge_actions`): the defaults, the job's override, suppression for child jobs, and "sent once".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

ACTIONS = (
    "on_acquire",
    "on_release",
    "on_start",
    "on_progress",
    "on_finish",
    "on_error",
    "on_reset",
    "on_abort",
    "on_cancel",
)
KIND_NAMES = ("print", "email", "websocket", "webhook")
OVERRIDE_KEYS = {"keep_default", "actions"}
EMAIL_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+$")
WEBHOOK_URL = re.compile(r"^https?://[^\s/]+\S*$")
# A webhook may carry its own signing secret (write-only: answered as REDACTED).
WEBHOOK_SECRET_MIN_CHARS, WEBHOOK_SECRET_MAX_CHARS = 16, 256
REDACTED = "********"


@dataclass(frozen=True)
class Notification:
    """One notification: ``kind`` (print, email, websocket, webhook) and its fields.

    ``suppress_for_parent`` is None when the object did not say: the suppression rule (see
    :func:`merge_actions`) tells a stated ``true`` from the default.
    """

    kind: str
    fields: tuple[tuple[str, Any], ...] = ()
    suppress_for_parent: bool | None = None

    def get(self, key: str, default: Any = None) -> Any:
        return dict(self.fields).get(key, default)

    def as_dict(self) -> dict[str, Any]:
        """The notification object as given (addresses as lists; ``suppress_for_parent`` only if stated)."""
        data = {key: list(value) if isinstance(value, tuple) else value for key, value in self.fields}
        if self.suppress_for_parent is not None:
            data["suppress_for_parent"] = self.suppress_for_parent
        return data

    @property
    def identity(self) -> tuple:
        """Two notifications with equal identity send the same message: it is sent once."""
        return (self.kind, self.fields)


@dataclass
class NotificationProblem:
    path: str
    code: str
    message: str


# kind → (required keys, optional keys); suppress_for_parent is allowed everywhere.
KINDS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "print": (frozenset({"message"}), frozenset()),
    "email": (frozenset({"subject", "body"}), frozenset({"to", "cc", "bcc"})),
    "webhook": (frozenset({"url"}), frozenset({"secret"})),
    "websocket": (frozenset(), frozenset()),
}


def kind_of(keys: set[str]) -> str | None:
    """The kind a notification's keys say it is (compat: UFDL tells kinds apart by their keys)."""
    keys = keys - {"suppress_for_parent"}
    if "message" in keys:
        return "print"
    if keys & {"subject", "body", "to", "cc", "bcc"}:
        return "email"
    if "url" in keys:
        return "webhook"
    if not keys:
        return "websocket"
    return None


def parse_notification(raw: Any, path: str, problems: list[NotificationProblem]) -> Notification | None:
    if not isinstance(raw, dict):
        problems.append(NotificationProblem(path, "wrong_type", "a notification is a JSON object"))
        return None
    kind = kind_of(set(raw))
    if kind is None:
        problems.append(
            NotificationProblem(
                path,
                "unknown_notification_kind",
                "not a notification: print has `message`; email `subject` and `body`; webhook `url`; "
                "websocket has no other key than `suppress_for_parent`",
            )
        )
        return None
    required, optional = KINDS[kind]
    before = len(problems)
    for key in sorted(set(raw) - required - optional - {"suppress_for_parent"}):
        problems.append(NotificationProblem(f"{path}.{key}", "unknown_key", f"a {kind} notification has no {key!r}"))
    for key in sorted(required - set(raw)):
        problems.append(NotificationProblem(f"{path}.{key}", "required", f"a {kind} notification needs {key!r}"))
    suppress = raw.get("suppress_for_parent")
    if suppress is not None and not isinstance(suppress, bool):
        problems.append(NotificationProblem(f"{path}.suppress_for_parent", "wrong_type", "must be a boolean"))
    values: dict[str, Any] = {}
    for key in sorted(set(raw) & (required | optional)):
        value = _field_value(kind, key, raw[key], f"{path}.{key}", problems)
        if value is not None:
            values[key] = value
    if len(problems) > before:
        return None
    return Notification(kind=kind, fields=tuple(sorted(values.items())), suppress_for_parent=suppress)


def _field_value(kind: str, key: str, value: Any, path: str, problems: list[NotificationProblem]) -> Any:
    if kind == "email" and key in ("to", "cc", "bcc"):
        addresses = [value] if isinstance(value, str) else value
        # No whitespace in an address, so no header can be smuggled in through one.
        if not isinstance(addresses, list) or not all(isinstance(a, str) and EMAIL_ADDRESS.match(a) for a in addresses):
            problems.append(NotificationProblem(path, "invalid_value", "must be an email address or a list of them"))
            return None
        if key == "to" and not addresses:
            problems.append(
                NotificationProblem(
                    path, "invalid_value", "leave `to` out to write to the job's creator; [] sends to nobody"
                )
            )
            return None
        return tuple(addresses)
    if not isinstance(value, str):
        problems.append(NotificationProblem(path, "wrong_type", f"{key} must be a string"))
        return None
    if kind == "webhook" and key == "url" and not WEBHOOK_URL.match(value):
        problems.append(NotificationProblem(path, "invalid_value", "url must be an http(s) URL"))
        return None
    if (
        kind == "webhook"
        and key == "secret"
        and not (WEBHOOK_SECRET_MIN_CHARS <= len(value) <= WEBHOOK_SECRET_MAX_CHARS)
    ):
        problems.append(
            NotificationProblem(
                path,
                "invalid_value",
                f"a webhook's signing secret has {WEBHOOK_SECRET_MIN_CHARS} to {WEBHOOK_SECRET_MAX_CHARS} characters",
            )
        )
        return None
    return value


def redact_secrets(value: Any) -> Any:
    """``value`` (a notification, an override, a job's child overrides: any JSON) with every webhook's
    signing ``secret`` replaced by ``REDACTED``: secrets are write-only, never answered."""
    if isinstance(value, dict):
        redacted = {key: redact_secrets(item) for key, item in value.items()}
        if "url" in value and "secret" in value:
            redacted["secret"] = REDACTED
        return redacted
    if isinstance(value, list):
        return [redact_secrets(item) for item in value]
    return value


@dataclass
class NotificationOverride:
    """``{keep_default, actions}``: replace the defaults, or add to them (``keep_default: true``)."""

    keep_default: bool = False
    actions: dict[str, list[Notification]] = field(default_factory=dict)


def parse_actions(raw: Any, path: str, problems: list[NotificationProblem]) -> dict[str, list[Notification]]:
    if not isinstance(raw, dict):
        problems.append(NotificationProblem(path, "wrong_type", "actions is an object: on_<transition> → list"))
        return {}
    actions: dict[str, list[Notification]] = {}
    for action, items in raw.items():
        action_path = f"{path}.{action}"
        if action not in ACTIONS:
            problems.append(
                NotificationProblem(
                    action_path, "unknown_action", f"unknown action {action!r}; known: {', '.join(ACTIONS)}"
                )
            )
            continue
        if not isinstance(items, list):
            problems.append(NotificationProblem(action_path, "wrong_type", "must be a list of notifications"))
            continue
        parsed = [parse_notification(item, f"{action_path}[{i}]", problems) for i, item in enumerate(items)]
        actions[action] = [n for n in parsed if n is not None]
    return actions


def parse_override(raw: Any, path: str) -> tuple[NotificationOverride | None, list[NotificationProblem]]:
    """Parse a ``notification_override``; returns it (None when absent or invalid) and the problems."""
    problems: list[NotificationProblem] = []
    if raw is None:
        return None, problems
    if not isinstance(raw, dict):
        problems.append(
            NotificationProblem(path, "wrong_type", "a notification override is an object {keep_default?, actions}")
        )
        return None, problems
    for key in sorted(set(raw) - OVERRIDE_KEYS):
        problems.append(NotificationProblem(f"{path}.{key}", "unknown_key", f"unknown key {key!r}"))
    keep_default = raw.get("keep_default", False)
    if not isinstance(keep_default, bool):
        problems.append(NotificationProblem(f"{path}.keep_default", "wrong_type", "must be a boolean"))
    actions = parse_actions(raw.get("actions", {}), f"{path}.actions", problems)
    if problems:
        return None, problems
    return NotificationOverride(keep_default=keep_default, actions=actions), problems


def merge_actions(
    defaults: dict[str, list[Notification]], override: NotificationOverride | None, *, is_child: bool = False
) -> dict[str, list[Notification]]:
    """The notifications to send per action.

    * The override's replace the defaults, or follow them when ``keep_default``; no override: the defaults.
    * A child job (``is_child``) skips a default unless it says ``"suppress_for_parent": false``, and
      skips an override's notification only if it says ``"suppress_for_parent": true``: a child's
      override was given to it explicitly by its parent's ``child_notification_overrides``.
    * A notification found twice (same kind and fields) is sent once (UFDL answered that with a 500);
      suppression is applied first, so a duplicate that fires wins over one that is skipped.
    """
    sourced: dict[str, list[tuple[Notification, bool]]] = {}  # action → [(notification, explicit)]
    if override is None or override.keep_default:
        for action, notifications in defaults.items():
            sourced.setdefault(action, []).extend((item, False) for item in notifications)
    if override is not None:
        for action, notifications in override.actions.items():
            sourced.setdefault(action, []).extend((item, True) for item in notifications)
    merged = {}
    for action, pairs in sourced.items():
        kept = _unique([item for item, explicit in pairs if not (is_child and _suppressed(item, explicit))])
        if kept:
            merged[action] = kept
    return merged


def _suppressed(item: Notification, explicit: bool) -> bool:
    """Whether a child job skips ``item`` (explicit: given to the child by its parent)."""
    if explicit:
        return item.suppress_for_parent is True
    return item.suppress_for_parent is not False


def _unique(items: list[Notification]) -> list[Notification]:
    seen: set[tuple] = set()
    unique = []
    for item in items:
        if item.identity not in seen:
            seen.add(item.identity)
            unique.append(item)
    return unique
