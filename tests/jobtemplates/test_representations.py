"""Kept representations (jobtemplates.services.templates.representing): made at import, answered from
bytes, the same as rebuilding them, and never stale — what changes after import is spliced in per answer
or drops the kept rows that read it. Lists stream the kept bytes a chunk at a time."""

from __future__ import annotations

import copy
import json

import pytest
from django.contrib.auth import get_user_model
from django.http import StreamingHttpResponse

from config.api.renderers import FastJSONRenderer
from contracts.models import Domain, Framework, Licence
from jobtemplates.models import JobTemplate, TemplateRepresentation
from jobtemplates.representations import fingerprint, template_representation
from jobtemplates.services.runnability import runnability
from jobtemplates.services.templates import (
    template_hard_delete,
    template_import,
    template_reinstate,
    template_soft_delete,
)
from tests.factories import DockerImageFactory
from tests.jobtemplates.conftest import meta_body

pytestmark = pytest.mark.django_db

API = "/v1/job-templates"
TF_TRAIN = "image-classification__0001_tensorflow_1_14_image_class_train.json"
TF_NAME_TYPE = "Name<DockerImage<Domain<'Image Classification'>, Framework<'tensorflow', '1.14'>>>"


@pytest.fixture
def tensorflow(catalogue, ufdl_bodies, admin_user):
    return template_import(data=copy.deepcopy(ufdl_bodies[TF_TRAIN]), creator=admin_user).template


@pytest.fixture
def meta(train_predict, admin_user):
    return template_import(data=meta_body(), creator=admin_user).template


def rebuilt(template: JobTemplate) -> bytes:
    """The §3.1 answer rebuilt from the rows, as the API answered before representations were kept."""
    full = JobTemplate.objects.select_related("domain", "licence", "project").with_content().get(pk=template.pk)
    return FastJSONRenderer().render(template_representation(full, verdict=runnability([full])[full.pk]))


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


# --- kept, and the same as rebuilt ------------------------------------------------------------------


def test_import_keeps_the_answers_and_a_retrieve_sends_them_as_rebuilt(tensorflow, meta, client, admin_client):
    for template in (tensorflow, meta):
        kept = TemplateRepresentation.objects.get(template=template)
        assert kept.fingerprint == fingerprint()
        assert client.get(f"{API}/{template.pk}").content == rebuilt(template)
        assert json.loads(client.get(f"{API}/{template.pk}/get-types").content) == template.type_parameters
        assert json.loads(client.get(f"{API}/{template.pk}/get-outputs").content) == template.outputs
    listed = json.loads(body(client.post(f"{API}/list")))
    assert [json.dumps(item) for item in listed] == [
        json.dumps(json.loads(rebuilt(template))) for template in JobTemplate.objects.order_by("pk")
    ]


def test_a_missing_or_stale_kept_row_is_made_again_when_read(tensorflow, meta, client):
    expected = {template.pk: rebuilt(template) for template in (tensorflow, meta)}
    TemplateRepresentation.objects.filter(template=tensorflow).delete()
    TemplateRepresentation.objects.filter(template=meta).update(fingerprint="0|old code", detail=b"{}")
    assert client.get(f"{API}/{tensorflow.pk}").content == expected[tensorflow.pk]
    assert [item["pk"] for item in client.post(f"{API}/list").json()][-1] == meta.pk
    assert client.get(f"{API}/{meta.pk}").content == expected[meta.pk]
    assert set(TemplateRepresentation.objects.values_list("fingerprint", flat=True)) == {fingerprint()}


# --- what changes after import -----------------------------------------------------------------------


def test_soft_delete_and_reinstate_show_at_once(tensorflow, client, admin_client):
    template_soft_delete(template=tensorflow)
    answer = client.get(f"{API}/{tensorflow.pk}").json()
    assert answer["deletion_time"] is not None
    assert client.get(f"{API}/{tensorflow.pk}").content == rebuilt(tensorflow)
    listed = client.post(f"{API}/list", {"include_inactive": True}, format="json").json()
    assert [item["deletion_time"] for item in listed if item["pk"] == tensorflow.pk] == [answer["deletion_time"]]
    assert tensorflow.pk not in [item["pk"] for item in client.post(f"{API}/list").json()]
    template_reinstate(template=JobTemplate.objects.get(pk=tensorflow.pk))
    assert client.get(f"{API}/{tensorflow.pk}").json()["deletion_time"] is None
    assert admin_client.delete(f"{API}/{tensorflow.pk}").status_code == 204
    assert client.get(f"{API}/{tensorflow.pk}").json()["deletion_time"] is not None


def test_hard_delete_removes_the_kept_row(tensorflow):
    template_hard_delete(template=tensorflow)
    assert not TemplateRepresentation.objects.filter(template_id=tensorflow.pk).exists()


def test_a_deleted_creator_is_null_at_once(catalogue, ufdl_bodies, client):
    author = get_user_model().objects.create_user(username="author", is_staff=True)
    template = template_import(data=copy.deepcopy(ufdl_bodies[TF_TRAIN]), creator=author).template
    assert client.get(f"{API}/{template.pk}").json()["creator"] == author.pk
    author.delete()
    assert client.get(f"{API}/{template.pk}").json()["creator"] is None


def test_a_renamed_domain_drops_its_templates_kept_rows(tensorflow, meta, client, admin_client):
    domain = Domain.objects.get(name="ic")
    domain.name = "iz"
    domain.save()
    assert not TemplateRepresentation.objects.filter(template__domain=domain).exists()
    assert client.get(f"{API}/{tensorflow.pk}").json()["domain"] == "iz"
    assert admin_client.get(f"{API}/{meta.pk}/export").json()["domain"] == "iz"


def test_a_renamed_licence_drops_its_templates_kept_rows(tensorflow, admin_client):
    licence = Licence.objects.get(pk=tensorflow.licence_id)
    licence.name = "Renamed licence"
    licence.save()
    assert not TemplateRepresentation.objects.filter(template=tensorflow).exists()
    assert admin_client.get(f"{API}/{tensorflow.pk}/export").json()["licence"] == "Renamed licence"


def test_the_runner_follows_the_settings(tensorflow, client, settings):
    before = client.get(f"{API}/{tensorflow.pk}").json()["runner"]
    settings.EXECUTOR_RUNNERS = {tensorflow.executor_class: "none"}
    after = client.get(f"{API}/{tensorflow.pk}").json()["runner"]
    assert (before, after) == ("node", "none")


def test_get_all_parameters_lists_the_rows_visible_now(tensorflow, client):
    def names() -> list:
        answer = client.get(f"{API}/{tensorflow.pk}/get-all-parameters").json()
        return answer["docker_image"]["types"][TF_NAME_TYPE]["enum"]

    before = names()
    image = DockerImageFactory(
        name="new-image",
        framework=Framework.objects.get(name="tensorflow", version="1.14"),
        domain_id=tensorflow.domain_id,
    )
    assert names() == [*before, f"{image.name} v{image.version}"]


def test_get_all_parameters_is_what_rebuilding_gives(tensorflow, client, other_client):
    from jobtemplates.representations import parameters_representation

    full = JobTemplate.objects.with_content().get(pk=tensorflow.pk)
    user = get_user_model().objects.get(username="alice")
    answer = client.get(f"{API}/{tensorflow.pk}/get-all-parameters").content
    assert answer == FastJSONRenderer().render(parameters_representation(full, user=user))


# --- streaming ----------------------------------------------------------------------------------------


@pytest.fixture
def many(catalogue, ufdl_bodies, train_predict, admin_user):
    """23 templates more (every fourth a meta-template)."""
    for index in range(23):
        body = meta_body(f"meta_{index}") if index % 4 == 3 else {**copy.deepcopy(ufdl_bodies[TF_TRAIN])}
        if index % 4 != 3:
            body["name"] = f"tf_{index}"
            body.pop("version")
        template_import(data=body, creator=admin_user)
    return JobTemplate.objects.count()


@pytest.mark.parametrize(
    "path",
    [
        f"{API}/list",
        f"{API}/list?limit=20&offset=3",
        f"{API}/get-all-matching-templates/Train",
    ],
)
def test_a_long_list_is_streamed_in_bounded_chunks(many, client, settings, path):
    method = client.post if "/list" in path else client.get
    settings.API_STREAM_CHUNK_ROWS = 1000
    whole = method(path)
    assert not whole.streaming
    settings.API_STREAM_CHUNK_ROWS = 4
    response = method(path)
    assert isinstance(response, StreamingHttpResponse)
    assert not response.has_header("Content-Length")
    chunks = list(response.streaming_content)
    items = json.loads(whole.content)
    assert len(items) > 8
    # A chunk holds at most four items: none is much longer than four of the longest.
    longest = max(len(json.dumps(item, ensure_ascii=False).encode()) for item in items)
    assert len(chunks) >= len(items) // 4
    assert max(len(chunk) for chunk in chunks) <= 4 * (longest + 1) + 2
    assert b"".join(chunks) == whole.content
    for header in ("X-Total-Count", "Link"):
        assert response.get(header) == whole.get(header)


def test_the_stream_reads_its_rows_as_it_goes(many, client, settings, django_assert_max_num_queries):
    """The rows are fetched while the answer is sent: the view's work is its first chunks only."""
    settings.API_STREAM_CHUNK_ROWS = 2
    response = client.post(f"{API}/list")
    iterator = iter(response.streaming_content)
    next(iterator)
    # What is left to send has not been built yet: the rest of the rows' meta-templates are judged now.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        rest = list(iterator)
    assert len(rest) >= many // 2 - 2
    assert len(captured) > 0


def test_the_get_list_page_is_the_envelope_with_kept_items(many, client):
    page = client.get(API, {"page_size": 5, "page": 2}).json()
    assert page["count"] == many
    assert page["next"].endswith("page=3&page_size=5")
    assert "page_size=5" in page["previous"]
    assert [item["pk"] for item in page["results"]] == list(
        JobTemplate.objects.order_by("pk").values_list("pk", flat=True)[5:10]
    )


def test_the_browsable_api_gets_a_long_list_whole(many, client, settings):
    settings.API_STREAM_CHUNK_ROWS = 4
    page = client.post(f"{API}/list", HTTP_ACCEPT="text/html")
    assert page.status_code == 200
    assert not page.streaming
    settings.API_STREAM_CHUNK_ROWS = 1000
    assert page.data == client.post(f"{API}/list").json()


def test_streaming_keeps_no_more_than_a_chunk_of_rows(many, client, settings):
    """Sent chunks' rows are freed as the stream goes, without waiting for the cycle collector (the
    template and its kept row, linked both ways by select_related, are unlinked after each chunk); a
    stream that held them all would keep every template alive until the end."""
    import gc

    from jobtemplates.representations.answers import ListedTemplate

    LISTED = (JobTemplate, ListedTemplate)  # lists read rows as ListedTemplate; verdicts read meta children
    settings.API_STREAM_CHUNK_ROWS = 2
    response = client.post(f"{API}/list")
    iterator = iter(response.streaming_content)
    gc.collect()
    gc.disable()
    try:
        before = sum(type(item) in LISTED for item in gc.get_objects())  # type(): no weakproxy lookups
        sent = list(iterator)
        alive = sum(type(item) in LISTED for item in gc.get_objects()) - before
    finally:
        gc.enable()
    assert len(sent) > many // 2 - 2
    # What is left: the last chunks' rows and the meta-templates' children their verdicts read (held 31
    # of 25 templates when the links were not cut).
    assert alive < many / 2, f"{alive} templates still alive after streaming {many}"


# --- made up front after an upgrade (manage.py keep_representations) -------------------------------


def test_keep_representations_makes_the_missing_and_stale_rows_only(tensorflow, meta, train_predict):
    from io import StringIO

    from django.core.management import CommandError, call_command

    TemplateRepresentation.objects.filter(template=tensorflow).update(fingerprint="an older release")
    TemplateRepresentation.objects.filter(template=meta).delete()
    current = set(TemplateRepresentation.objects.filter(fingerprint=fingerprint()).values_list("pk", flat=True))
    assert current and tensorflow.pk not in current and meta.pk not in current

    out = StringIO()
    call_command("keep_representations", "--batch", "1", stdout=out)
    assert "2 made" in out.getvalue()
    rows = TemplateRepresentation.objects.all()
    assert {row.template_id for row in rows} == set(JobTemplate.objects.values_list("pk", flat=True))
    assert all(row.fingerprint == fingerprint() for row in rows)
    assert bytes(TemplateRepresentation.objects.get(template=meta).detail) == bytes(representation_detail(meta))

    out = StringIO()
    call_command("keep_representations", stdout=out)
    assert "0 made" in out.getvalue()
    call_command("keep_representations", "--all", stdout=out)
    assert f"{JobTemplate.objects.count()} made" in out.getvalue()
    with pytest.raises(CommandError, match="--batch"):
        call_command("keep_representations", "--batch", "0")


def representation_detail(template: JobTemplate) -> bytes:
    """The detail a fresh kept row of ``template`` has (its nonce-free parts: the separators are fixed)."""
    from jobtemplates.services.templates.representing import representation_of

    full = JobTemplate.objects.select_related("domain", "licence", "project").with_content().get(pk=template.pk)
    return bytes(representation_of(full).detail)
