"""notifications.messages and notifications.rendering (pure): only documented fields are substituted;
injection attempts stay verbatim and never raise; every kind renders from the same data."""

from __future__ import annotations

import pytest

from notifications.kinds import parse_notification
from notifications.messages import MESSAGE_FIELDS, format_message
from notifications.rendering import render_content

DATA = {
    "transition": "error",
    "description": "my {pk} job",
    "pk": 7,
    "progress": 0.5,
    "cancelled": False,
    "node": None,
    "error": "RuntimeError: boom\nsecond line",
    "transition_data": {"x": 1, "attempt": 2},
    "template": "noop v1",
    "status": "errored",
}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("Job #{pk} {transition}", "Job #7 error"),
        ("{progress} {cancelled} [{node}] {status} {template}", "0.5 False [] errored noop v1"),
        ("{transition_data}", '{"attempt": 2, "x": 1}'),
        ("{description}", "my {pk} job"),  # a value is never read as a template
        ("{pk.__class__}", "{pk.__class__}"),
        ("{pk.__class__.__mro__}", "{pk.__class__.__mro__}"),
        ("{transition_data[x]}", "{transition_data[x]}"),
        ("{0}", "{0}"),
        ("{}", "{}"),
        ("{pk:>99999999}", "{pk:>99999999}"),
        ("{pk:{pk}}", "{pk:7}"),
        ("{error!r}", "{error!r}"),
        ("{secret_key}", "{secret_key}"),
        ("{__import__}", "{__import__}"),
        ("{{pk}}", "{pk}"),  # str.format's escapes, as UFDL messages wrote them
        ("{{{pk}}}", "{7}"),
        ("{{{{pk}}}}", "{{pk}}"),
        ("{pk", "{pk"),
        ("pk}", "pk}"),
        ("}{", "}{"),
        ("{ pk }", "{ pk }"),
        ("%(pk)s $pk {{", "%(pk)s $pk {"),
    ],
)
def test_only_documented_fields_are_substituted(template, expected):
    assert format_message(template, DATA) == expected


def test_every_documented_field_substitutes():
    for name in MESSAGE_FIELDS:
        assert "{" not in format_message(f"{{{name}}}", {name: "v"}), name


def test_a_missing_field_stays_verbatim():
    assert format_message("{error}", {"pk": 1}) == "{error}"


def test_formatting_never_raises_on_hostile_input():
    hostile = "{" * 10_000 + "pk" + "}" * 10_000 + "{pk:%s}" % ("9" * 1000) + "\x00{pk}"
    out = format_message(hostile, DATA)
    assert out.endswith("\x007") and len(out) < len(hostile)


def notification(raw):
    problems = []
    parsed = parse_notification(raw, "n", problems)
    assert not problems
    return parsed


class TestRendering:
    def test_print(self):
        assert render_content(notification({"message": "#{pk}: {error}"}), DATA, creator_email=None) == {
            "message": "#7: RuntimeError: boom\nsecond line"
        }

    def test_email_subject_is_one_line_and_defaults_to_the_creator(self):
        content = render_content(
            notification({"subject": "#{pk} {error}", "body": "{error}\n{pk.__dict__}"}),
            DATA,
            creator_email="alice@example.com",
        )
        assert content == {
            "subject": "#7 RuntimeError: boom second line",
            "body": "RuntimeError: boom\nsecond line\n{pk.__dict__}",
            "to": ["alice@example.com"],
            "cc": [],
            "bcc": [],
        }

    def test_email_with_to_does_not_write_to_the_creator(self):
        content = render_content(
            notification({"subject": "s", "body": "b", "to": "ops@x.org", "bcc": "a@x.org"}),
            DATA,
            creator_email="alice@example.com",
        )
        assert (content["to"], content["bcc"]) == (["ops@x.org"], ["a@x.org"])

    def test_webhook_and_websocket_send_the_data(self):
        assert render_content(notification({"url": "http://h/x"}), DATA, creator_email=None) == {
            "url": "http://h/x",
            "payload": DATA,
        }
        assert render_content(notification({}), DATA, creator_email=None) == DATA
