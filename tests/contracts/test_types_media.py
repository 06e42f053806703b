"""A stored value's media type and file extension by its type (contracts.types.media)."""

from __future__ import annotations

import pytest

from contracts.types import parse_type
from contracts.types.media import file_kind


@pytest.mark.parametrize(
    ("text", "content_type", "extension"),
    [
        ("BLOB<'log'>", "text/plain; charset=utf-8", ".log"),
        ("BLOB<'text/csv'>", "text/csv; charset=utf-8", ".csv"),
        ("BLOB<'csv'>", "text/csv; charset=utf-8", ".csv"),
        ("BLOB<'image/png'>", "image/png", ".png"),
        ("BLOB<'png'>", "image/png", ".png"),
        ("BLOB<'image/jpeg'>", "image/jpeg", ".jpg"),
        ("BLOB<'jpg'>", "image/jpeg", ".jpg"),
        ("BLOB<'PDF'>", "application/pdf", ".pdf"),
        ("BLOB<'application/x-unknown-thing'>", "application/x-unknown-thing", ".bin"),
        ("BLOB<'weird hint with spaces'>", "application/octet-stream", ".bin"),
        ("BLOB<'../../etc/passwd'>", "application/octet-stream", ".bin"),
        ("BLOB<'a\"b'>", "application/octet-stream", ".bin"),
        ("JSON", "application/json", ".json"),
        ("Map<float>", "application/json", ".json"),
        ("str", "application/json", ".json"),
        ("Compressed<BLOB<'csv'>, 9>", "application/zip", ".zip"),
        ("Model<Domain<'Image Classification'>, Framework<'scikit-learn', '1'>>", "application/octet-stream", ".bin"),
    ],
)
def test_file_kind(text, content_type, extension):
    kind = file_kind(parse_type(text))
    assert (kind.content_type, kind.extension) == (content_type, extension)
