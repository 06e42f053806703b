"""notifications.kinds (pure): kinds told apart by their keys, every problem with its path, and the
merge rules (replace, keep_default, sent once, suppression for child jobs)."""

from __future__ import annotations

import pytest

from notifications.kinds import (
    kind_of,
    merge_actions,
    parse_actions,
    parse_notification,
    parse_override,
    redact_secrets,
)


def parse(raw):
    problems = []
    return parse_notification(raw, "n", problems), [(p.path, p.code) for p in problems]


def override(raw):
    parsed, problems = parse_override(raw, "o")
    assert not problems, problems
    return parsed


def actions(raw):
    problems = []
    parsed = parse_actions(raw, "d", problems)
    assert not problems
    return parsed


def sent(merged) -> dict[str, list[dict]]:
    return {action: [n.as_dict() for n in items] for action, items in merged.items()}


class TestKinds:
    @pytest.mark.parametrize(
        ("keys", "kind"),
        [
            ({"message"}, "print"),
            ({"message", "suppress_for_parent"}, "print"),
            ({"subject", "body"}, "email"),
            ({"to"}, "email"),
            ({"url"}, "webhook"),
            (set(), "websocket"),
            ({"suppress_for_parent"}, "websocket"),
            ({"colour"}, None),
        ],
    )
    def test_told_apart_by_keys(self, keys, kind):
        assert kind_of(keys) == kind

    def test_each_kind_parses(self):
        assert parse({"message": "hi"})[0].kind == "print"
        email, problems = parse({"subject": "s", "body": "b", "to": "a@x.org", "cc": ["c@x.org"], "bcc": []})
        assert not problems and email.as_dict() == {
            "subject": "s",
            "body": "b",
            "to": ["a@x.org"],
            "cc": ["c@x.org"],
            "bcc": [],
        }
        assert parse({"url": "https://hooks.example/x?y=1"})[0].kind == "webhook"
        websocket, _ = parse({"suppress_for_parent": False})
        assert websocket.kind == "websocket" and websocket.suppress_for_parent is False

    def test_suppress_for_parent_is_kept_only_when_stated(self):
        assert parse({"message": "m"})[0].suppress_for_parent is None
        assert parse({"message": "m"})[0].as_dict() == {"message": "m"}
        assert parse({"message": "m", "suppress_for_parent": True})[0].as_dict() == {
            "message": "m",
            "suppress_for_parent": True,
        }

    @pytest.mark.parametrize(
        ("raw", "problems"),
        [
            ("hello", [("n", "wrong_type")]),
            ({"colour": "red"}, [("n", "unknown_notification_kind")]),
            ({"message": 3}, [("n.message", "wrong_type")]),
            ({"message": "m", "url": "http://x"}, [("n.url", "unknown_key")]),
            ({"subject": "s"}, [("n.body", "required")]),
            ({"subject": "s", "body": "b", "to": "not an address"}, [("n.to", "invalid_value")]),
            ({"subject": "s", "body": "b", "to": "a@x.org\nBcc: evil@x.org"}, [("n.to", "invalid_value")]),
            ({"subject": "s", "body": "b", "to": []}, [("n.to", "invalid_value")]),
            ({"subject": "s", "body": "b", "cc": [1]}, [("n.cc", "invalid_value")]),
            ({"url": "file:///etc/passwd"}, [("n.url", "invalid_value")]),
            ({"url": "ftp://x"}, [("n.url", "invalid_value")]),
            ({"message": "m", "suppress_for_parent": "yes"}, [("n.suppress_for_parent", "wrong_type")]),
            ({"url": "https://x.org/h", "secret": "short"}, [("n.secret", "invalid_value")]),
            ({"url": "https://x.org/h", "secret": "s" * 257}, [("n.secret", "invalid_value")]),
            ({"url": "https://x.org/h", "secret": 12345678901234567}, [("n.secret", "wrong_type")]),
            ({"subject": "s", "body": "b", "secret": "s" * 20}, [("n.secret", "unknown_key")]),
        ],
    )
    def test_problems_have_paths(self, raw, problems):
        parsed, found = parse(raw)
        assert parsed is None and found == problems

    def test_override_collects_every_problem(self):
        parsed, problems = parse_override(
            {
                "keep_default": "yes",
                "extra": 1,
                "actions": {"on_finish": [{"colour": 1}, {"message": "ok"}], "on_lunch": [], "on_error": {}},
            },
            "notification_override",
        )
        assert parsed is None
        assert [(p.path, p.code) for p in problems] == [
            ("notification_override.extra", "unknown_key"),
            ("notification_override.keep_default", "wrong_type"),
            ("notification_override.actions.on_finish[0]", "unknown_notification_kind"),
            ("notification_override.actions.on_lunch", "unknown_action"),
            ("notification_override.actions.on_error", "wrong_type"),
        ]


class TestSecrets:
    def test_a_webhook_keeps_its_secret_and_representations_hide_it(self):
        parsed, problems = parse({"url": "https://x.org/h", "secret": "s" * 16})
        assert problems == [] and parsed.get("secret") == "s" * 16
        override = {"actions": {"on_finish": [{"url": "https://x.org/h", "secret": "s" * 16}, {"message": "m"}]}}
        assert redact_secrets(override) == {
            "actions": {"on_finish": [{"url": "https://x.org/h", "secret": "********"}, {"message": "m"}]}
        }
        children = {"train": override, "predict": {"actions": {}}}
        assert redact_secrets(children)["train"]["actions"]["on_finish"][0]["secret"] == "********"
        assert redact_secrets(None) is None and override["actions"]["on_finish"][0]["secret"] == "s" * 16


DEFAULTS = {
    "on_start": [{"message": "Job #{pk} started"}, {"subject": "started", "body": "b"}],
    "on_finish": [{"message": "Job #{pk} finished"}],
}


class TestMerge:
    def test_no_override_sends_the_defaults(self):
        assert sent(merge_actions(actions(DEFAULTS), None)) == DEFAULTS

    def test_an_override_replaces_the_defaults(self):
        merged = merge_actions(actions(DEFAULTS), override({"actions": {"on_error": [{"message": "oops"}]}}))
        assert sent(merged) == {"on_error": [{"message": "oops"}]}

    def test_an_empty_override_sends_nothing(self):
        assert merge_actions(actions(DEFAULTS), override({})) == {}

    def test_keep_default_appends_after_the_defaults(self):
        merged = merge_actions(
            actions(DEFAULTS),
            override(
                {
                    "keep_default": True,
                    "actions": {"on_finish": [{"url": "http://hook.example/done"}], "on_error": [{}]},
                }
            ),
        )
        assert sent(merged) == {
            "on_start": DEFAULTS["on_start"],
            "on_finish": [{"message": "Job #{pk} finished"}, {"url": "http://hook.example/done"}],
            "on_error": [{}],
        }

    def test_a_notification_in_defaults_and_override_is_sent_once(self):
        merged = merge_actions(
            actions(DEFAULTS),
            override(
                {
                    "keep_default": True,
                    "actions": {
                        "on_finish": [{"message": "Job #{pk} finished"}, {"message": "Job #{pk} finished"}],
                        "on_start": [{"subject": "started", "body": "b", "suppress_for_parent": False}],
                    },
                }
            ),
        )
        assert [n.as_dict() for n in merged["on_finish"]] == [{"message": "Job #{pk} finished"}]
        assert len(merged["on_start"]) == 2

    def test_the_same_addresses_written_two_ways_are_one_email(self):
        merged = merge_actions(
            {},
            override(
                {
                    "actions": {
                        "on_finish": [
                            {"subject": "s", "body": "b", "to": "a@x.org"},
                            {"subject": "s", "body": "b", "to": ["a@x.org"]},
                        ]
                    }
                }
            ),
        )
        assert len(merged["on_finish"]) == 1

    def test_a_top_level_job_suppresses_nothing(self):
        merged = merge_actions(
            actions(DEFAULTS),
            override(
                {"keep_default": True, "actions": {"on_finish": [{"message": "quiet", "suppress_for_parent": True}]}}
            ),
        )
        assert [n.get("message") for n in merged["on_finish"]] == ["Job #{pk} finished", "quiet"]


class TestChildSuppression:
    """A child's defaults are skipped unless they say false; what its parent gave it fires unless it says true."""

    def test_defaults_are_skipped_for_a_child(self):
        assert merge_actions(actions(DEFAULTS), None, is_child=True) == {}

    def test_a_default_that_says_false_still_fires(self):
        defaults = actions({"on_finish": [{"message": "loud", "suppress_for_parent": False}, {"message": "quiet"}]})
        assert sent(merge_actions(defaults, None, is_child=True)) == {
            "on_finish": [{"message": "loud", "suppress_for_parent": False}]
        }

    def test_an_explicit_child_override_fires(self):
        merged = merge_actions(
            actions(DEFAULTS), override({"actions": {"on_error": [{"message": "child broke"}]}}), is_child=True
        )
        assert sent(merged) == {"on_error": [{"message": "child broke"}]}

    def test_an_explicit_child_override_that_says_true_is_skipped(self):
        merged = merge_actions(
            {},
            override(
                {"actions": {"on_error": [{"message": "skip me", "suppress_for_parent": True}, {"message": "keep me"}]}}
            ),
            is_child=True,
        )
        assert sent(merged) == {"on_error": [{"message": "keep me"}]}

    def test_keep_default_on_a_child_keeps_only_what_fires(self):
        merged = merge_actions(
            actions(DEFAULTS),
            override({"keep_default": True, "actions": {"on_finish": [{"message": "Job #{pk} finished"}]}}),
            is_child=True,
        )
        # The default copy is suppressed, the explicit duplicate fires: sent once, not zero times.
        assert sent(merged) == {"on_finish": [{"message": "Job #{pk} finished"}]}
