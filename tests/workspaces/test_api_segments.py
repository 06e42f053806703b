"""API tests of ``/v1/segments/datasets`` (UFDL's image-segmentation routes, notes §4.3): ordered labels and
mask layers uploaded as UFDL's client uploads files (``Content-Type: application/data`` and a
``Content-Disposition``), masks shared by copies and merges and deleted with the last layer using them,
permissions by project membership, and constant query counts."""

from __future__ import annotations

import json

import pytest
from django.core.files.storage import default_storage
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import DatasetFactory, DomainFactory, LicenceFactory, ProjectFactory, member_of
from tests.workspaces.conftest import DATASET_KEYS
from workspaces.models import SegmentationLayer, SegmentationMask

pytestmark = pytest.mark.django_db

CAT_MASK = b"\x89PNG cat mask"
DOG_MASK = b"\x89PNG dog mask"


@pytest.fixture
def project(user):
    project = ProjectFactory(name="segmentation")
    member_of(user, project, "W")
    return project


@pytest.fixture
def dataset(project):
    return DatasetFactory(
        domain=DomainFactory(name="is"), project=project, files={"a.png": b"image a", "sub/b.png": b"image b"}
    )


@pytest.fixture
def labelled(client, dataset):
    assert send(client, "POST", url(dataset, "labels"), {"labels": ["cat", "dog"]}).status_code == 200
    return dataset


def url(dataset, tail: str = "") -> str:
    return f"/v1/segments/datasets/{dataset.pk}" + (f"/{tail}" if tail else "")


def get(client, path: str):
    """A GET as UFDL's client sends it: with a JSON body ``{}``."""
    return client.generic("GET", path, "{}", content_type="application/json")


def send(client, method: str, path: str, body=None):
    data = "" if body is None else json.dumps(body)
    return client.generic(method, path, data, content_type="application/json")


def upload(client, dataset, filename: str, label: str, data: bytes):
    """``set_layer`` as UFDL's client sends it (``context.upload``)."""
    return client.generic(
        "POST",
        url(dataset, f"layers/{filename}/{label}"),
        data,
        content_type="application/data",
        HTTP_CONTENT_DISPOSITION=f"attachment; filename={filename}",
    )


def download(client, dataset, filename: str, label: str):
    """``get_layer`` as UFDL's client sends it (``context.download``: no body)."""
    return client.get(url(dataset, f"layers/{filename}/{label}"))


def content(response) -> bytes:
    return b"".join(response.streaming_content)


def mask_names() -> list[str]:
    if not default_storage.exists("segmentation-masks"):
        return []
    folders, _ = default_storage.listdir("segmentation-masks")
    return sorted(
        f"segmentation-masks/{folder}/{name}"
        for folder in folders
        for name in default_storage.listdir(f"segmentation-masks/{folder}")[1]
    )


def paths(response) -> list[str]:
    return [problem["path"] for problem in response.json()["errors"]]


# --- labels ------------------------------------------------------------------------------------------------


class TestLabels:
    def test_set_and_get_labels_in_order(self, client, dataset):
        assert get(client, url(dataset, "labels")).json() == []
        response = send(client, "POST", url(dataset, "labels"), {"labels": ["zebra", "cat", "dog"]})
        assert response.status_code == 200, response.content
        assert response.json() == ["zebra", "cat", "dog"]
        assert get(client, url(dataset, "labels")).json() == ["zebra", "cat", "dog"]
        send(client, "POST", url(dataset, "labels/"), {"labels": ["dog", "zebra"]})
        assert get(client, url(dataset, "labels/")).json() == ["dog", "zebra"]

    def test_every_bad_label_is_reported_at_once(self, client, dataset):
        # UFDL stored labels one per line, so a newline made two labels.
        body = {"labels": ["two\nlines", "a/b", "", "x", "x", 3, "ok"]}
        response = send(client, "POST", url(dataset, "labels"), body)
        assert response.status_code == 400
        assert paths(response) == ["labels[0]", "labels[1]", "labels[2]", "labels[4]", "labels[5]"]
        assert paths(send(client, "POST", url(dataset, "labels"), {})) == ["labels"]
        assert paths(send(client, "POST", url(dataset, "labels"), {"labels": "cat"})) == ["labels"]
        assert paths(send(client, "POST", url(dataset, "labels"), {"labels": [], "extra": 1})) == ["extra"]
        assert send(client, "POST", url(dataset, "labels"), ["cat"]).status_code == 400
        assert get(client, url(dataset, "labels")).json() == []

    def test_setting_labels_removes_the_layers_of_labels_gone(
        self, client, labelled, django_capture_on_commit_callbacks
    ):
        upload(client, labelled, "a.png", "cat", CAT_MASK)
        upload(client, labelled, "a.png", "dog", DOG_MASK)
        assert len(mask_names()) == 2
        with django_capture_on_commit_callbacks(execute=True):
            response = send(client, "POST", url(labelled, "labels"), {"labels": ["dog", "bird"]})
        assert response.status_code == 200
        assert download(client, labelled, "a.png", "cat").status_code == 404
        assert content(download(client, labelled, "a.png", "dog")) == DOG_MASK
        assert SegmentationMask.objects.count() == 1
        assert len(mask_names()) == 1  # the cat mask's bytes went too


# --- layers ------------------------------------------------------------------------------------------------


class TestLayers:
    def test_upload_and_download_a_mask(self, client, labelled):
        response = upload(client, labelled, "sub/b.png", "cat", CAT_MASK)
        assert response.status_code == 200, response.content
        assert response.json() == "cat"  # UFDL answers the label
        response = download(client, labelled, "sub/b.png", "cat")
        assert response.status_code == 200
        assert response["Content-Type"] == "application/octet-stream"
        assert content(response) == CAT_MASK
        # UFDL's client sends a JSON body on other GETs; an optional trailing slash.
        assert content(get(client, url(labelled, "layers/sub/b.png/cat/"))) == CAT_MASK

    def test_no_layer_is_404_not_an_empty_body(self, client, labelled):
        response = download(client, labelled, "a.png", "dog")
        assert response.status_code == 404
        assert response.json()["code"] == "no_layer"

    def test_unknown_files_and_labels(self, client, labelled):
        assert download(client, labelled, "none.png", "cat").status_code == 404
        assert upload(client, labelled, "none.png", "cat", CAT_MASK).status_code == 404
        assert download(client, labelled, "a.png", "horse").status_code == 404
        response = upload(client, labelled, "a.png", "horse", CAT_MASK)
        assert response.status_code == 422
        assert paths(response) == ["label"]
        assert not SegmentationMask.objects.exists()
        assert mask_names() == []

    def test_replacing_a_mask_releases_the_old_one(self, client, labelled, django_capture_on_commit_callbacks):
        upload(client, labelled, "a.png", "cat", CAT_MASK)
        with django_capture_on_commit_callbacks(execute=True):
            assert upload(client, labelled, "a.png", "cat", DOG_MASK).status_code == 200
        assert content(download(client, labelled, "a.png", "cat")) == DOG_MASK
        assert SegmentationMask.objects.count() == 1
        assert len(mask_names()) == 1

    def test_layers_with_the_same_bytes_share_one_mask(self, client, labelled, django_capture_on_commit_callbacks):
        upload(client, labelled, "a.png", "cat", CAT_MASK)
        upload(client, labelled, "sub/b.png", "cat", CAT_MASK)
        upload(client, labelled, "sub/b.png", "dog", CAT_MASK)
        assert SegmentationMask.objects.count() == 1
        assert len(mask_names()) == 1
        with django_capture_on_commit_callbacks(execute=True):
            send(client, "DELETE", url(labelled, "files/a.png"))
        assert content(download(client, labelled, "sub/b.png", "dog")) == CAT_MASK
        assert len(mask_names()) == 1

    def test_deleting_the_file_releases_its_masks(self, client, labelled, django_capture_on_commit_callbacks):
        upload(client, labelled, "a.png", "cat", CAT_MASK)
        with django_capture_on_commit_callbacks(execute=True):
            assert send(client, "DELETE", url(labelled, "files/a.png")).status_code == 200
        assert not SegmentationLayer.objects.exists()
        assert not SegmentationMask.objects.exists()
        assert mask_names() == []

    def test_a_multipart_upload_works_too(self, client, labelled):
        from django.core.files.uploadedfile import SimpleUploadedFile

        response = client.post(
            url(labelled, "layers/a.png/dog"), {"file": SimpleUploadedFile("m.png", DOG_MASK)}, format="multipart"
        )
        assert response.status_code == 200, response.content
        assert content(download(client, labelled, "a.png", "dog")) == DOG_MASK

    def test_a_mask_past_the_size_limit_is_413(self, client, labelled, settings):
        settings.DATASET_FILE_MAX_BYTES = 4
        assert upload(client, labelled, "a.png", "cat", CAT_MASK).status_code == 413
        assert not SegmentationMask.objects.exists()

    def test_the_representation_adds_nothing(self, client, labelled):
        upload(client, labelled, "a.png", "cat", CAT_MASK)
        data = get(client, url(labelled)).json()
        assert set(data) == DATASET_KEYS
        assert data["domain"] == "Image Segmentation"

    def test_a_soft_deleted_dataset_cannot_change(self, client, labelled):
        assert send(client, "DELETE", url(labelled)).status_code == 204
        assert upload(client, labelled, "a.png", "cat", CAT_MASK).status_code == 409
        assert send(client, "POST", url(labelled, "labels"), {"labels": []}).status_code == 409
        assert mask_names() == []


# --- permissions --------------------------------------------------------------------------------------------


class TestPermissions:
    @pytest.fixture
    def layered(self, client, labelled):
        assert upload(client, labelled, "a.png", "cat", CAT_MASK).status_code == 200
        return labelled

    def test_a_read_member_may_read_but_not_change(self, other_client, other_user, layered):
        member_of(other_user, layered.project, "R")
        assert get(other_client, url(layered, "labels")).json() == ["cat", "dog"]
        assert content(download(other_client, layered, "a.png", "cat")) == CAT_MASK
        response = send(other_client, "POST", url(layered, "labels"), {"labels": []})
        assert response.status_code == 403
        assert upload(other_client, layered, "a.png", "cat", DOG_MASK).status_code == 403
        assert content(download(other_client, layered, "a.png", "cat")) == CAT_MASK
        assert get(other_client, url(layered, "labels")).json() == ["cat", "dog"]

    def test_a_write_member_may_change(self, other_client, other_user, layered):
        member_of(other_user, layered.project, "W")
        assert upload(other_client, layered, "a.png", "dog", DOG_MASK).status_code == 200
        assert send(other_client, "POST", url(layered, "labels"), {"labels": ["dog"]}).status_code == 200

    def test_a_non_member_gets_404(self, other_client, layered):
        assert get(other_client, url(layered, "labels")).status_code == 404
        assert download(other_client, layered, "a.png", "cat").status_code == 404
        assert send(other_client, "POST", url(layered, "labels"), {"labels": []}).status_code == 404
        assert upload(other_client, layered, "a.png", "cat", DOG_MASK).status_code == 404


# --- copy, merge, clear, hard delete -------------------------------------------------------------------------


class TestCopyMergeClear:
    def test_a_copy_shares_the_masks(self, client, admin_client, labelled, django_capture_on_commit_callbacks):
        upload(client, labelled, "a.png", "cat", CAT_MASK)
        upload(client, labelled, "sub/b.png", "dog", DOG_MASK)
        response = send(client, "POST", url(labelled, "copy"), {})
        assert response.status_code == 200, response.content
        copy = DatasetFactory._meta.model.objects.get(pk=response.json()["pk"])
        assert get(client, url(copy, "labels")).json() == ["cat", "dog"]
        assert content(download(client, copy, "a.png", "cat")) == CAT_MASK
        assert content(download(client, copy, "sub/b.png", "dog")) == DOG_MASK
        assert SegmentationMask.objects.count() == 2  # shared, not copied
        with django_capture_on_commit_callbacks(execute=True):
            assert admin_client.delete(url(labelled, "hard")).status_code == 200
        assert content(download(client, copy, "a.png", "cat")) == CAT_MASK
        assert len(mask_names()) == 2
        with django_capture_on_commit_callbacks(execute=True):
            assert admin_client.delete(url(copy, "hard")).status_code == 200
        assert not SegmentationMask.objects.exists()
        assert mask_names() == []

    def test_merge_unions_labels_and_carries_layers(self, client, labelled, project):
        target = DatasetFactory(
            domain=labelled.domain, project=project, files={"a.png": b"image a", "t.png": b"target only"}
        )
        send(client, "POST", url(target, "labels"), {"labels": ["bird", "cat"]})
        upload(client, target, "a.png", "cat", b"target's cat")
        upload(client, labelled, "a.png", "cat", CAT_MASK)
        upload(client, labelled, "a.png", "dog", DOG_MASK)
        upload(client, labelled, "sub/b.png", "dog", DOG_MASK)
        response = send(client, "POST", url(target, f"merge/{labelled.pk}"), {"delete": True})
        assert response.status_code == 200, response.content
        assert get(client, url(target, "labels")).json() == ["bird", "cat", "dog"]
        # The shared a.png keeps its own cat layer and takes the source's dog layer.
        assert content(download(client, target, "a.png", "cat")) == b"target's cat"
        assert content(download(client, target, "a.png", "dog")) == DOG_MASK
        assert content(download(client, target, "sub/b.png", "dog")) == DOG_MASK

    def test_clear_removes_layers_and_keeps_labels(self, client, labelled, django_capture_on_commit_callbacks):
        upload(client, labelled, "a.png", "cat", CAT_MASK)
        with django_capture_on_commit_callbacks(execute=True):
            assert send(client, "DELETE", url(labelled, "clear")).status_code == 200
        assert download(client, labelled, "a.png", "cat").status_code == 404
        assert get(client, url(labelled, "labels")).json() == ["cat", "dog"]
        assert mask_names() == []


# --- query counts ------------------------------------------------------------------------------------------


def count_queries(call) -> int:
    with CaptureQueriesContext(connection) as context:
        response = call()
    assert response.status_code == 200, response.content
    return len(context.captured_queries)


class TestQueryCounts:
    def test_labels_are_constant(self, client, labelled, project, django_assert_max_num_queries):
        few = count_queries(lambda: get(client, url(labelled, "labels")))
        big = DatasetFactory(domain=labelled.domain, project=project, files={f"f{i}": bytes([i]) for i in range(10)})
        send(client, "POST", url(big, "labels"), {"labels": [f"l{i}" for i in range(30)]})
        for index in range(10):
            upload(client, big, f"f{index}", f"l{index}", bytes([index]))
        with django_assert_max_num_queries(few):
            assert len(get(client, url(big, "labels")).json()) == 30

    def test_lists_are_constant(self, client, labelled, project, django_assert_max_num_queries):
        upload(client, labelled, "a.png", "cat", CAT_MASK)
        few = count_queries(lambda: send(client, "POST", "/v1/segments/datasets/list"))
        for _ in range(5):
            DatasetFactory(domain=labelled.domain, project=project, licence=LicenceFactory(), files={"x": b"x"})
        with django_assert_max_num_queries(few):
            assert len(send(client, "POST", "/v1/segments/datasets/list").json()) == 6
