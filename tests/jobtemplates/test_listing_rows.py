"""Lists read their rows as ``ListedTemplate`` (jobtemplates.representations.answers.listed_rows): on
PostgreSQL the kept detail is decompressed once and split into its three static parts by the server and
read as text (no hex), elsewhere read whole and split when written. Either way an item is byte for byte
what the template's model row with its kept row writes, whatever the row's state: soft-deleted (its
deletion time spliced in), without a kept row or with one of other code (made again), a meta-template."""

from __future__ import annotations

import json

import pytest
from django.db import connection

from jobtemplates.models import JobTemplate, TemplateRepresentation
from jobtemplates.representations import kept_rows, listed_rows, template_chunks
from jobtemplates.services.templates import template_soft_delete
from runners.capabilities import Fleet
from tests.jobtemplates.conftest import meta_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def templates(train_predict, import_body):
    train, predict = train_predict
    meta = import_body(meta_body())
    template_soft_delete(template=JobTemplate.objects.get(pk=predict.pk))
    TemplateRepresentation.objects.filter(template_id=train.pk).delete()  # made again when read
    TemplateRepresentation.objects.filter(template_id=meta.pk).update(fingerprint="other code")
    return train, predict, meta


def written(rows, *, size: int = 2) -> list[bytes]:
    return list(template_chunks(rows, fleet=Fleet.load(), size=size))


def test_listed_rows_write_what_model_rows_write(templates):
    queryset = kept_rows(JobTemplate.objects.all()).order_by("-pk")
    listed = written(listed_rows(queryset))
    # Every kept row is current now (made again by the listing): both read the same kept bytes.
    assert written(list(queryset)) == listed
    items = json.loads(b"[" + b",".join(listed) + b"]")
    train, predict, meta = templates
    assert [item["pk"] for item in items] == sorted((train.pk, predict.pk, meta.pk), reverse=True)
    by_pk = {item["pk"]: item for item in items}
    assert by_pk[predict.pk]["deletion_time"] is not None and by_pk[train.pk]["deletion_time"] is None
    assert by_pk[meta.pk]["runner"] == "meta" and by_pk[meta.pk]["graph"]["nodes"]
    assert by_pk[train.pk]["creator"] == train.creator_id
    assert TemplateRepresentation.objects.filter(template_id=train.pk).exists()
    assert TemplateRepresentation.objects.get(template_id=meta.pk).fingerprint != "other code"


def test_a_window_and_an_empty_filter(templates):
    queryset = kept_rows(JobTemplate.objects.all()).order_by("pk")
    assert written(listed_rows(queryset[1:2]), size=500) == written(list(queryset[1:2]), size=500)
    assert written(listed_rows(queryset.filter(pk__in=[]))) == []


def test_rows_come_a_chunk_at_a_time(templates):
    """The rows as read: the parts split by PostgreSQL, none for a template without a kept row."""
    rows = listed_rows(kept_rows(JobTemplate.objects.all()).order_by("pk"))
    first = next(rows)
    assert first.pk == JobTemplate.objects.order_by("pk").values_list("pk", flat=True)[0]
    listed = {row.pk: row for row in (first, *rows)}
    assert len(listed) == 3
    train, predict, _ = templates
    assert listed[train.pk].representation is None and listed[train.pk].parts is None  # no kept row
    if connection.vendor == "postgresql":
        parts = listed[predict.pk].parts
        assert parts is not None and len(parts) == 3 and b"\x00" not in b"".join(parts)
        assert parts[0].startswith(b'{"pk":') and parts[1].startswith(b',"creation_time":')
