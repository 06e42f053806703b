"""The linear text checks of config/http_limits/text.py: the JSON depth scan agrees with the parsed depth
(property test), and the walk for unstorable text finds keys and values at any depth, in document order."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from config.http_limits import json_depth_exceeds, text_problems


def reference_depth(value) -> int:
    if isinstance(value, dict):
        return 1 + max(map(reference_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(reference_depth, value), default=0)
    return 0


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ ab\x00é'),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(alphabet='[]{}"\\ ab', max_size=4), children, max_size=4)
    ),
    max_leaves=30,
)


@hypothesis_settings(max_examples=300, deadline=None)
@given(value=json_values, limit=st.integers(min_value=0, max_value=8))
def test_the_depth_scan_agrees_with_the_parsed_depth(value, limit):
    for text in (json.dumps(value), json.dumps(value, ensure_ascii=False, indent=1)):
        assert json_depth_exceeds(text.encode(), limit) == (reference_depth(value) > limit)


def test_text_problems_walks_keys_and_values_at_any_depth():
    value = {"a": [1, {"b\x00": "ok", "c": ["\ud800"]}], "d": "\x00"}
    assert [problem.path for problem in text_problems(value)] == ["a[1].b\\u0000", "a[1].c[0]", "d"]
    assert text_problems({"a": ["fine", {"b": "é😀"}]}) == []


def test_escaped_quotes_and_backslashes_do_not_end_a_string_early():
    # A string holding \" and \\ followed by brackets: none of them count.
    text = json.dumps(["\\", '"[[[[', '\\"{{{{', "\\\\[[[["]).encode()
    assert json_depth_exceeds(text, 1) is False
    assert json_depth_exceeds(b"[[" + text + b"]]", 2) is True


def test_a_deep_body_is_scanned_without_recursion():
    depth = 1_000_000
    assert json_depth_exceeds(b"[" * depth + b"]" * depth, 64) is True
    assert json_depth_exceeds(b"[" * depth, 64) is True  # unbalanced: still a scan
