"""API tests of ``/v1/datasets`` (http-api.md §5, docs/ufdl-data-layer.md): lifecycle, visibility by project
membership, files, archives, filter specs."""

from __future__ import annotations

import hashlib
import io
import zipfile

import pytest
from django.core.files.storage import default_storage
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import DatasetFactory, DomainFactory, LicenceFactory, ProjectFactory, UserFactory, member_of
from tests.workspaces.conftest import DATASET_KEYS
from workspaces.models import Dataset, DatasetFile
from workspaces.services.datasets import dataset_reference_check_register, dataset_reference_check_unregister

pytestmark = pytest.mark.django_db


@pytest.fixture
def body(licence):
    DomainFactory(name="ic")
    return {"name": "flowers", "domain": "ic", "licence": "CC-BY-4.0", "description": "some flowers"}


def stored_names(dataset_pk: int) -> list[str]:
    """Names in storage under the dataset's folder (recursively)."""
    found = []

    def walk(folder: str) -> None:
        if not default_storage.exists(folder):
            return
        folders, files = default_storage.listdir(folder)
        found.extend(f"{folder}/{name}" for name in files)
        for sub in folders:
            walk(f"{folder}/{sub}")

    walk(f"datasets/{dataset_pk}")
    return sorted(found)


def upload(client, dataset, filename: str, data: bytes, content_type: str = "application/octet-stream"):
    return client.generic("POST", f"/v1/datasets/{dataset.pk}/files/{filename}", data, content_type=content_type)


def download_bytes(response) -> bytes:
    return b"".join(response.streaming_content)


# --- create -----------------------------------------------------------------------------------------


class TestCreate:
    def test_create_route_answers_200_with_the_dataset(self, client, user, licence, body):
        response = client.post("/v1/datasets/create", body, format="json")
        assert response.status_code == 200, response.content
        data = response.json()
        assert set(data) == DATASET_KEYS
        assert data["creator"] == user.pk
        assert (data["name"], data["version"], data["licence"]) == ("flowers", 1, licence.pk)
        assert data["domain"] == "Image Classification"  # UFDL serialises the domain's description
        assert (data["project"], data["is_public"], data["files"], data["deletion_time"]) == (None, False, {}, None)
        assert (data["previous_version"], data["tags"]) == (-1, "")
        assert data["description"] == "some flowers"

    def test_plain_post_answers_201(self, client, body):
        response = client.post("/v1/datasets", body, format="json")
        assert response.status_code == 201, response.content
        assert Dataset.objects.filter(pk=response.json()["pk"]).exists()

    def test_anonymous_cannot_create(self, anon_client, body):
        assert anon_client.post("/v1/datasets/create", body, format="json").status_code == 401
        assert not Dataset.objects.exists()

    def test_without_a_version_takes_the_next_one(self, client, body):
        first = client.post("/v1/datasets/create", body, format="json").json()
        second = client.post("/v1/datasets/create", body, format="json").json()
        assert (first["version"], second["version"]) == (1, 2)
        # A soft-deleted version still counts, so it can be reinstated later without a clash.
        assert client.delete(f"/v1/datasets/{second['pk']}").status_code == 204
        assert client.post("/v1/datasets/create", body, format="json").json()["version"] == 3

    def test_an_active_name_and_version_clash_is_409(self, client, body):
        assert client.post("/v1/datasets/create", {**body, "version": 4}, format="json").status_code == 200
        response = client.post("/v1/datasets/create", {**body, "version": 4}, format="json")
        assert response.status_code == 409
        assert response.json()["code"] == "duplicate"
        assert response.json()["errors"][0]["path"] == "version"
        assert Dataset.objects.filter(name="flowers").count() == 1

    def test_a_soft_deleted_one_does_not_clash(self, client, user, body):
        old = DatasetFactory(name="flowers", version=1, creator=user)
        old.deletion_time = old.creation_time
        old.save()
        assert client.post("/v1/datasets/create", {**body, "version": 1}, format="json").status_code == 200

    def test_licence_by_pk_and_domain_by_description(self, client, licence, body):
        response = client.post(
            "/v1/datasets/create", {**body, "licence": licence.pk, "domain": "Image Classification"}, format="json"
        )
        assert response.status_code == 200, response.content
        assert (response.json()["licence"], response.json()["domain"]) == (licence.pk, "Image Classification")

    def test_unknown_references_are_422_with_every_path(self, client, body):
        response = client.post(
            "/v1/datasets/create",
            {**body, "licence": "Nope", "domain": "zz", "project": 999_999},
            format="json",
        )
        assert response.status_code == 422, response.content
        assert {e["path"] for e in response.json()["errors"]} == {"licence", "domain", "project"}

    def test_malformed_bodies_are_400(self, client, body):
        missing = client.post("/v1/datasets/create", {"domain": "ic"}, format="json")
        assert missing.status_code == 400
        assert {"name", "licence"} <= {e["path"] for e in missing.json()["errors"]}
        wrong = client.post("/v1/datasets/create", {**body, "version": "two"}, format="json")
        assert wrong.status_code == 400
        assert wrong.json()["errors"][0]["path"] == "version"
        assert client.post("/v1/datasets/create", [body], format="json").status_code == 400

    def test_projects_take_write_in_their_team(self, client, user, admin_client, body):
        mine, read_only, theirs = ProjectFactory(name="mine"), ProjectFactory(name="read"), ProjectFactory(name="x")
        member_of(user, mine, "W")
        member_of(user, read_only, "R")
        created = client.post("/v1/datasets/create", {**body, "project": mine.pk}, format="json")
        assert created.status_code == 200, created.content
        assert created.json()["project"] == mine.pk
        # A member who may only read cannot add datasets; a non-member learns nothing about the project.
        refused = client.post("/v1/datasets/create", {**body, "project": read_only.pk}, format="json")
        assert refused.status_code == 403
        assert refused.json()["errors"][0]["path"] == "project"
        hidden = client.post("/v1/datasets/create", {**body, "project": theirs.pk}, format="json")
        assert hidden.status_code == 422
        assert hidden.json()["errors"][0] == {
            "path": "project",
            "code": "does_not_exist",
            "message": f"no project {theirs.pk}",
        }
        assert admin_client.post("/v1/datasets/create", {**body, "project": theirs.pk}, format="json").status_code == (
            200
        )
        assert Dataset.objects.filter(project=read_only).count() == 0


# --- visibility -------------------------------------------------------------------------------------


@pytest.fixture
def world(user, other_user):
    """Datasets of every kind of visibility, seen from ``user``."""
    project = ProjectFactory(name="lab")
    member_of(user, project, "R")
    stranger = UserFactory(username="carol")
    return {
        "public": DatasetFactory(creator=stranger, is_public=True),
        "own": DatasetFactory(creator=user),
        "project": DatasetFactory(creator=stranger, project=project),
        "other": DatasetFactory(creator=other_user),
        "other_project": DatasetFactory(creator=other_user, project=ProjectFactory(name="elsewhere")),
    }


class TestVisibility:
    @pytest.mark.parametrize(
        ("kind", "visible"),
        [("public", True), ("own", True), ("project", True), ("other", False), ("other_project", False)],
    )
    def test_retrieve(self, client, admin_client, world, kind, visible):
        response = client.get(f"/v1/datasets/{world[kind].pk}")
        assert response.status_code == (200 if visible else 404)
        if not visible:
            assert response.json()["code"] == "not_found"
        assert admin_client.get(f"/v1/datasets/{world[kind].pk}").status_code == 200

    def test_lists(self, client, admin_client, world):
        expected = sorted(world[kind].pk for kind in ("public", "own", "project"))
        assert [row["pk"] for row in client.post("/v1/datasets/list").json()] == expected
        assert [row["pk"] for row in client.get("/v1/datasets").json()["results"]] == expected
        assert len(admin_client.post("/v1/datasets/list").json()) == len(world)

    def test_filters_never_reveal_invisible_datasets(self, client, world):
        spec = {"expressions": [{"type": "exact", "field": "pk", "value": world["other"].pk}]}
        assert client.post("/v1/datasets/list", spec, format="json").json() == []

    def test_invisible_datasets_are_404_for_every_action(self, client, world, body):
        hidden = world["other"]
        assert client.patch(f"/v1/datasets/{hidden.pk}", {"description": "x"}, format="json").status_code == 404
        assert client.delete(f"/v1/datasets/{hidden.pk}").status_code == 404
        assert client.get(f"/v1/datasets/{hidden.pk}/download").status_code == 404
        assert upload(client, hidden, "a.txt", b"x").status_code == 404
        assert client.get(f"/v1/datasets/{hidden.pk}/files/a.txt").status_code == 404

    def test_anonymous_is_401(self, anon_client, world):
        public = world["public"]
        for response in (
            anon_client.get("/v1/datasets"),
            anon_client.post("/v1/datasets/list"),
            anon_client.get(f"/v1/datasets/{public.pk}"),
            anon_client.get(f"/v1/datasets/{public.pk}/download"),
            anon_client.get(f"/v1/datasets/{public.pk}/files/a.txt"),
            anon_client.delete(f"/v1/datasets/{public.pk}"),
        ):
            assert response.status_code == 401


# --- update and lifecycle -------------------------------------------------------------------------------


class TestUpdate:
    def test_creator_patches_and_puts(self, client, user, licence):
        dataset = DatasetFactory(creator=user, licence=licence)
        patched = client.patch(
            f"/v1/datasets/{dataset.pk}", {"description": "better", "is_public": True}, format="json"
        )
        assert patched.status_code == 200, patched.content
        assert (patched.json()["description"], patched.json()["is_public"]) == ("better", True)
        full = {**patched.json(), "name": "renamed", "version": 7}  # a retrieved dataset sent back, edited
        put = client.put(f"/v1/datasets/{dataset.pk}", full, format="json")
        assert put.status_code == 200, put.content
        assert (put.json()["name"], put.json()["version"], put.json()["creator"]) == ("renamed", 7, user.pk)

    def test_a_put_without_a_project_leaves_the_project(self, client, user, licence):
        project = ProjectFactory(members={user: "W"})
        dataset = DatasetFactory(creator=user, project=project, licence=licence)
        response = client.put(f"/v1/datasets/{dataset.pk}", {"name": "kept", "licence": licence.pk}, format="json")
        assert response.status_code == 200, response.content
        assert response.json()["project"] == project.pk
        moved = client.patch(f"/v1/datasets/{dataset.pk}", {"project": None}, format="json")
        assert moved.json()["project"] is None  # made personal on purpose

    def test_others_may_not_change_a_public_dataset(self, other_client, user):
        dataset = DatasetFactory(creator=user, is_public=True, description="original")
        response = other_client.patch(f"/v1/datasets/{dataset.pk}", {"description": "vandal"}, format="json")
        assert response.status_code == 403
        dataset.refresh_from_db()
        assert dataset.description == "original"
        assert other_client.delete(f"/v1/datasets/{dataset.pk}").status_code == 403
        assert upload(other_client, dataset, "a.txt", b"x").status_code == 403

    def test_admins_may(self, admin_client, user):
        dataset = DatasetFactory(creator=user)
        response = admin_client.patch(f"/v1/datasets/{dataset.pk}", {"description": "curated"}, format="json")
        assert response.status_code == 200
        assert response.json()["creator"] == user.pk

    def test_renaming_onto_an_active_dataset_is_409(self, client, user):
        DatasetFactory(name="taken", version=1, creator=user)
        dataset = DatasetFactory(creator=user, name="free", version=1)
        response = client.patch(f"/v1/datasets/{dataset.pk}", {"name": "taken"}, format="json")
        assert response.status_code == 409
        dataset.refresh_from_db()
        assert dataset.name == "free"

    def test_a_deleted_dataset_is_not_changed(self, client, user):
        dataset = DatasetFactory(creator=user)
        client.delete(f"/v1/datasets/{dataset.pk}")
        response = client.patch(f"/v1/datasets/{dataset.pk}", {"description": "x"}, format="json")
        assert response.status_code == 409
        assert response.json()["code"] == "dataset_deleted"


class TestLifecycle:
    def test_soft_delete_hides_from_lists_but_not_from_retrieve(self, client, user):
        dataset = DatasetFactory(creator=user)
        assert client.delete(f"/v1/datasets/{dataset.pk}").status_code == 204
        assert client.post("/v1/datasets/list").json() == []
        assert client.get("/v1/datasets").json()["count"] == 0
        retrieved = client.get(f"/v1/datasets/{dataset.pk}").json()
        assert retrieved["deletion_time"] is not None
        assert [row["pk"] for row in client.post("/v1/datasets/list", {"include_inactive": True}, format="json").json()]
        assert client.get("/v1/datasets?include_inactive=true").json()["count"] == 1

    @pytest.mark.parametrize("method", ["delete", "post"])
    def test_creator_reinstates(self, client, user, method):
        dataset = DatasetFactory(creator=user)
        client.delete(f"/v1/datasets/{dataset.pk}")
        response = getattr(client, method)(f"/v1/datasets/{dataset.pk}/reinstate")
        assert response.status_code == 200, response.content
        assert response.json()["pk"] == dataset.pk
        assert response.json()["deletion_time"] is None
        assert len(client.post("/v1/datasets/list").json()) == 1

    def test_reinstating_onto_an_active_name_and_version_is_409(self, client, user, body):
        dataset = DatasetFactory(creator=user, name="flowers", version=1)
        client.delete(f"/v1/datasets/{dataset.pk}")
        DatasetFactory(name="flowers", version=1, creator=user)
        response = client.post(f"/v1/datasets/{dataset.pk}/reinstate")
        assert response.status_code == 409
        dataset.refresh_from_db()
        assert dataset.deletion_time is not None

    def test_others_may_not_reinstate(self, other_client, user):
        dataset = DatasetFactory(creator=user, is_public=True)
        dataset.deletion_time = dataset.creation_time
        dataset.save()
        assert other_client.post(f"/v1/datasets/{dataset.pk}/reinstate").status_code == 403

    def test_hard_delete_is_for_admins_and_removes_the_files(
        self, client, admin_client, user, django_capture_on_commit_callbacks
    ):
        dataset = DatasetFactory(creator=user, files={"a.txt": b"a", "sub/b.txt": b"b"})
        assert len(stored_names(dataset.pk)) == 2
        assert client.delete(f"/v1/datasets/{dataset.pk}/hard").status_code == 403
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_client.delete(f"/v1/datasets/{dataset.pk}/hard")
        assert response.status_code == 200
        assert response.json()["pk"] == dataset.pk
        assert sorted(response.json()["files"]) == ["a.txt", "sub/b.txt"]
        assert not Dataset.objects.filter(pk=dataset.pk).exists()
        assert not DatasetFile.objects.exists()
        assert stored_names(dataset.pk) == []

    def test_hard_delete_while_referenced_is_409_and_removes_nothing(self, admin_client, user):
        dataset = DatasetFactory(creator=user, files={"a.txt": b"a"})

        def referenced_by_a_job(candidate):
            return ["job 12"] if candidate.pk == dataset.pk else []

        dataset_reference_check_register(referenced_by_a_job)
        try:
            response = admin_client.delete(f"/v1/datasets/{dataset.pk}/hard")
        finally:
            dataset_reference_check_unregister(referenced_by_a_job)
        assert response.status_code == 409
        assert response.json()["code"] == "referenced"
        assert response.json()["errors"][0]["message"] == "referenced by job 12"
        assert Dataset.objects.filter(pk=dataset.pk).exists()
        assert stored_names(dataset.pk) == [f"datasets/{dataset.pk}/a.txt"]


# --- files ------------------------------------------------------------------------------------------


class TestFiles:
    PAYLOAD = bytes(range(256)) * 64 + b"\x00end"

    @pytest.mark.parametrize(
        "content_type", ["application/octet-stream", "application/json", "text/plain", "image/png"]
    )
    def test_raw_upload_and_download_round_trip(self, client, user, content_type):
        dataset = DatasetFactory(creator=user)
        response = upload(client, dataset, "data.bin", self.PAYLOAD, content_type)
        assert response.status_code == 200, response.content
        handle = hashlib.sha256(self.PAYLOAD).hexdigest()
        assert response.json() == {"filename": "data.bin", "handle": handle, "size": len(self.PAYLOAD)}
        download = client.get(f"/v1/datasets/{dataset.pk}/files/data.bin")
        assert download.status_code == 200
        assert download_bytes(download) == self.PAYLOAD
        assert download["Content-Disposition"] == 'attachment; filename="data.bin"'
        assert client.get(f"/v1/datasets/{dataset.pk}").json()["files"] == {"data.bin": handle}

    def test_multipart_upload_streams_to_disk_and_round_trips(self, client, user, settings):
        settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 1024  # force Django's temporary-file handler
        dataset = DatasetFactory(creator=user)
        response = client.post(
            f"/v1/datasets/{dataset.pk}/files/images/cat.png",
            {"file": io.BytesIO(self.PAYLOAD)},
            format="multipart",
        )
        assert response.status_code == 200, response.content
        download = client.get(f"/v1/datasets/{dataset.pk}/files/images/cat.png")
        assert download_bytes(download) == self.PAYLOAD
        assert download["Content-Disposition"] == 'attachment; filename="cat.png"'
        assert download["Content-Type"] == "image/png"

    def test_multipart_without_the_file_field_is_400(self, client, user):
        dataset = DatasetFactory(creator=user)
        response = client.post(f"/v1/datasets/{dataset.pk}/files/a.txt", {"other": "x"}, format="multipart")
        assert response.status_code == 400
        assert response.json()["errors"][0]["path"] == "file"

    def test_empty_files_are_allowed(self, client, user):
        dataset = DatasetFactory(creator=user)
        assert upload(client, dataset, "empty", b"").json()["size"] == 0
        assert download_bytes(client.get(f"/v1/datasets/{dataset.pk}/files/empty")) == b""

    def test_sub_folders_and_trailing_slashes(self, client, user):
        dataset = DatasetFactory(creator=user)
        assert upload(client, dataset, "train/cats/1.jpg/", b"cat").json()["filename"] == "train/cats/1.jpg"
        assert download_bytes(client.get(f"/v1/datasets/{dataset.pk}/files/train/cats/1.jpg")) == b"cat"
        assert download_bytes(client.get(f"/v1/datasets/{dataset.pk}/files/train/cats/1.jpg/")) == b"cat"
        assert stored_names(dataset.pk) == [f"datasets/{dataset.pk}/train/cats/1.jpg"]

    @pytest.mark.parametrize("name", ["@@@", "with space/and (brackets)", "ünïcödé/名前.txt", "a" * 255])
    def test_names_the_storage_would_rewrite_still_round_trip(self, client, user, name):
        dataset = DatasetFactory(creator=user)
        assert upload(client, dataset, name, b"kept").status_code == 200
        assert list(client.get(f"/v1/datasets/{dataset.pk}").json()["files"]) == [name]
        assert download_bytes(client.get(f"/v1/datasets/{dataset.pk}/files/{name}")) == b"kept"
        archive = zipfile.ZipFile(io.BytesIO(download_bytes(client.get(f"/v1/datasets/{dataset.pk}/download"))))
        assert archive.namelist() == [name]

    def test_uploading_an_existing_name_replaces_it(self, client, user, django_capture_on_commit_callbacks):
        dataset = DatasetFactory(creator=user, files={"a.txt": b"old"})
        with django_capture_on_commit_callbacks(execute=True):
            assert upload(client, dataset, "a.txt", b"new content").status_code == 200
        assert download_bytes(client.get(f"/v1/datasets/{dataset.pk}/files/a.txt")) == b"new content"
        assert DatasetFile.objects.get(dataset=dataset).size == len(b"new content")
        assert len(stored_names(dataset.pk)) == 1  # the replaced bytes are gone

    def test_a_name_cannot_be_both_file_and_folder(self, client, user):
        dataset = DatasetFactory(creator=user, files={"a": b"file", "d/x": b"in folder"})
        for name in ("a/b", "d"):
            response = upload(client, dataset, name, b"x")
            assert response.status_code == 409, name
            assert response.json()["code"] == "file_folder_clash"
        assert sorted(DatasetFile.objects.values_list("filename", flat=True)) == ["a", "d/x"]

    @pytest.mark.parametrize(
        "route_name",
        # (A NUL in the name never gets here: every path holding one is a 400, tests/config/test_request_limits.py.)
        ["/absolute", "a/../b", "..", "a/./b", "a//b", "a%5Cb", "dir//", "x" * 501, "d/" + "y" * 256],
    )
    def test_unsafe_names_are_422(self, client, user, route_name):
        dataset = DatasetFactory(creator=user, files={"ok.txt": b"ok"})
        base = f"/v1/datasets/{dataset.pk}/files/{route_name}"
        for response in (
            client.generic("POST", base, b"x", content_type="application/octet-stream"),
            client.get(base),
            client.delete(base),
        ):
            assert response.status_code == 422, (route_name, response.content)
            assert response.json()["errors"][0]["path"] == "filename"
            assert response.json()["errors"][0]["code"] == "invalid_filename"
        assert list(DatasetFile.objects.values_list("filename", flat=True)) == ["ok.txt"]

    def test_size_limit(self, client, user, settings):
        settings.DATASET_FILE_MAX_BYTES = 10
        dataset = DatasetFactory(creator=user)
        assert upload(client, dataset, "fits", b"0123456789").status_code == 200
        raw = upload(client, dataset, "raw", b"0123456789A")
        assert raw.status_code == 413
        assert raw.json()["code"] == "file_too_large"
        multipart = client.post(
            f"/v1/datasets/{dataset.pk}/files/multi", {"file": io.BytesIO(b"0123456789A")}, format="multipart"
        )
        assert multipart.status_code == 413
        assert list(DatasetFile.objects.values_list("filename", flat=True)) == ["fits"]
        assert stored_names(dataset.pk) == [f"datasets/{dataset.pk}/fits"]

    def test_delete_a_file(self, client, user, django_capture_on_commit_callbacks):
        dataset = DatasetFactory(creator=user, files={"a.txt": b"a", "b.txt": b"b"})
        with django_capture_on_commit_callbacks(execute=True):
            response = client.delete(f"/v1/datasets/{dataset.pk}/files/a.txt")
        assert response.status_code == 200
        assert response.json() == {"filename": "a.txt", "handle": hashlib.sha256(b"a").hexdigest(), "size": 1}
        assert client.get(f"/v1/datasets/{dataset.pk}/files/a.txt").status_code == 404
        assert list(client.get(f"/v1/datasets/{dataset.pk}").json()["files"]) == ["b.txt"]
        assert stored_names(dataset.pk) == [f"datasets/{dataset.pk}/b.txt"]
        assert client.delete(f"/v1/datasets/{dataset.pk}/files/a.txt").status_code == 404

    def test_others_read_files_of_visible_datasets_but_do_not_change_them(self, other_client, user):
        dataset = DatasetFactory(creator=user, is_public=True, files={"a.txt": b"a"})
        assert download_bytes(other_client.get(f"/v1/datasets/{dataset.pk}/files/a.txt")) == b"a"
        assert other_client.delete(f"/v1/datasets/{dataset.pk}/files/a.txt").status_code == 403
        assert upload(other_client, dataset, "a.txt", b"mine").status_code == 403

    def test_files_of_a_deleted_dataset_are_readable_but_not_writable(self, client, user):
        dataset = DatasetFactory(creator=user, files={"a.txt": b"a"})
        client.delete(f"/v1/datasets/{dataset.pk}")
        assert download_bytes(client.get(f"/v1/datasets/{dataset.pk}/files/a.txt")) == b"a"
        assert upload(client, dataset, "b.txt", b"b").status_code == 409
        assert client.delete(f"/v1/datasets/{dataset.pk}/files/a.txt").status_code == 409

    def test_downloads_ignore_the_accept_header(self, client, user):
        dataset = DatasetFactory(creator=user, files={"a.txt": b"a"})
        for path in (f"/v1/datasets/{dataset.pk}/files/a.txt", f"/v1/datasets/{dataset.pk}/download"):
            assert client.get(path, HTTP_ACCEPT="application/octet-stream").status_code == 200
        missing = client.get(f"/v1/datasets/{dataset.pk}/files/nope", HTTP_ACCEPT="application/zip")
        assert missing.status_code == 404
        assert missing.json()["code"] == "not_found"


class TestZipDownload:
    def test_every_file_in_one_zip(self, client, user):
        files = {"a.txt": b"alpha", "sub/dir/b.bin": bytes(range(256)) * 10, "sub/c.txt": b""}
        dataset = DatasetFactory(creator=user, name="birds", version=3, files=files)
        response = client.get(f"/v1/datasets/{dataset.pk}/download")
        assert response.status_code == 200
        assert response["Content-Type"] == "application/zip"
        assert response["Content-Disposition"] == 'attachment; filename="birds.v3.zip"'
        archive = zipfile.ZipFile(io.BytesIO(download_bytes(response)))
        assert sorted(archive.namelist()) == sorted(files)
        for name, data in files.items():
            assert archive.read(name) == data
        assert client.get(f"/v1/datasets/{dataset.pk}/download/").status_code == 200

    def test_an_empty_dataset_is_an_empty_zip(self, client, user):
        dataset = DatasetFactory(creator=user)
        archive = zipfile.ZipFile(io.BytesIO(download_bytes(client.get(f"/v1/datasets/{dataset.pk}/download"))))
        assert archive.namelist() == []


# --- lists and filter specs ----------------------------------------------------------------------------


class TestLists:
    @pytest.fixture
    def datasets(self, user):
        od = DomainFactory(name="od")
        DomainFactory(name="ic")
        return [
            DatasetFactory(creator=user, name="cats-small", domain=od, description="Cats"),
            DatasetFactory(creator=user, name="cats-large", version=2, description="more cats"),
            DatasetFactory(creator=user, name="dogs", domain=od, files={"dog.jpg": b"woof"}),
        ]

    def names(self, client, spec) -> list[str]:
        response = client.post("/v1/datasets/list", spec, format="json")
        assert response.status_code == 200, response.content
        return [row["name"] for row in response.json()]

    def test_contains_and_exact_on_a_relation(self, client, datasets):
        assert self.names(client, {"expressions": [{"type": "contains", "field": "name", "sub_string": "cats"}]}) == [
            "cats-small",
            "cats-large",
        ]
        spec = {"expressions": [{"type": "exact", "field": "domain.name", "value": "od"}]}
        assert self.names(client, spec) == ["cats-small", "dogs"]
        spec = {
            "expressions": [
                {"type": "contains", "field": "description", "sub_string": "CATS", "case_insensitive": True}
            ]
        }
        assert self.names(client, spec) == ["cats-small", "cats-large"]
        assert self.names(client, {"expressions": [{"type": "exact", "field": "files", "value": "dog.jpg"}]}) == [
            "dogs"
        ]
        spec = {"expressions": [{"type": "exact", "field": "creator.username", "value": "alice"}]}
        assert len(self.names(client, spec)) == 3

    def test_order_by_a_dotted_field(self, client, datasets):
        spec = {"order_by": [{"field": "domain.name", "ascending": False}, {"field": "name"}]}
        assert self.names(client, spec) == ["cats-small", "dogs", "cats-large"]
        assert self.names(client, {"order_by": [{"field": "version", "ascending": False}]})[0] == "cats-large"

    def test_include_inactive(self, client, datasets):
        client.delete(f"/v1/datasets/{datasets[2].pk}")
        assert self.names(client, {}) == ["cats-small", "cats-large"]
        assert self.names(client, {"include_inactive": True}) == ["cats-small", "cats-large", "dogs"]
        spec = {"include_inactive": True, "expressions": [{"type": "isnull", "field": "deletion_time", "invert": True}]}
        assert self.names(client, spec) == ["dogs"]

    @pytest.mark.parametrize("field", ["creator.password", "creator.email", "creator.is_superuser", "password"])
    def test_secrets_and_unlisted_fields_are_400(self, client, datasets, field):
        response = client.post(
            "/v1/datasets/list", {"expressions": [{"type": "exact", "field": field, "value": "x"}]}, format="json"
        )
        assert response.status_code == 400
        assert response.json()["errors"][0]["path"] == "expressions[0].field"

    def test_get_list_query_filters_pagination_and_slashes(self, client, datasets):
        page = client.get("/v1/datasets?domain=od&page_size=1").json()
        assert page["count"] == 2
        assert page["next"] is not None and page["previous"] is None
        assert [row["name"] for row in client.get("/v1/datasets?name=dogs").json()["results"]] == ["dogs"]
        assert client.get("/v1/datasets?version=x").status_code == 400
        assert client.get("/v1/datasets").json() == client.get("/v1/datasets/").json()
        assert client.post("/v1/datasets/list").json() == client.post("/v1/datasets/list/").json()
        pk = datasets[0].pk
        assert client.get(f"/v1/datasets/{pk}").json() == client.get(f"/v1/datasets/{pk}/").json()

    @pytest.mark.parametrize("path", ["/v1/datasets", "/v1/datasets/list"])
    def test_lists_run_a_constant_number_of_queries(self, client, user, path):
        project = ProjectFactory(name="lab", members={user: "R"})

        def count_queries() -> int:
            with CaptureQueriesContext(connection) as context:
                response = client.post(path) if path.endswith("list") else client.get(path)
            assert response.status_code == 200
            return len(context.captured_queries)

        for _ in range(2):
            DatasetFactory(creator=user, project=project, files={"a": b"a", "b": b"b"})
        few = count_queries()
        for index in range(8):
            DatasetFactory(is_public=True, licence=LicenceFactory(), files={f"f{index}": b"x"})
        assert count_queries() == few


# --- the admin of datasets (workspaces/admin.py) ----------------------------------------------------------


@pytest.fixture
def admin_site(admin_user):
    """A browser session logged in to the Django admin."""
    from django.test import Client

    browser = Client()
    browser.force_login(admin_user)
    return browser


class TestDatasetAdmin:
    def test_changelist_filters_and_change_page_with_file_links(self, admin_site, user):
        dataset = DatasetFactory(creator=user, files={"sub/a.txt": b"alpha"})
        for query in ("", "?state=active", "?state=deleted", "?is_public__exact=1", f"?q={dataset.name}"):
            assert admin_site.get(f"/admin/workspaces/dataset/{query}").status_code == 200
        page = admin_site.get(f"/admin/workspaces/dataset/{dataset.pk}/change/")
        assert page.status_code == 200
        link = f"/v1/datasets/{dataset.pk}/files/sub/a.txt"
        assert f'href="{link}"'.encode() in page.content
        # The link works with the admin's session.
        assert download_bytes(admin_site.get(link)) == b"alpha"

    def test_soft_delete_and_reinstate_actions(self, admin_site, user):
        datasets = [DatasetFactory(creator=user), DatasetFactory(creator=user)]
        pks = [str(dataset.pk) for dataset in datasets]
        response = admin_site.post(
            "/admin/workspaces/dataset/", {"action": "soft_delete_selected", "_selected_action": pks}
        )
        assert response.status_code == 302
        assert Dataset.objects.filter(deletion_time__isnull=False).count() == 2
        admin_site.post("/admin/workspaces/dataset/", {"action": "reinstate_selected", "_selected_action": pks})
        assert Dataset.objects.filter(deletion_time__isnull=True).count() == 2

    def test_reinstate_action_reports_a_clash(self, admin_site, user):
        dataset = DatasetFactory(creator=user, name="same", version=1)
        dataset.deletion_time = dataset.creation_time
        dataset.save()
        DatasetFactory(name="same", version=1, creator=user)
        response = admin_site.post(
            "/admin/workspaces/dataset/",
            {"action": "reinstate_selected", "_selected_action": [str(dataset.pk)]},
            follow=True,
        )
        assert b"already exists" in response.content
        dataset.refresh_from_db()
        assert dataset.deletion_time is not None

    def test_deleting_in_the_admin_removes_the_files(self, admin_site, user, django_capture_on_commit_callbacks):
        dataset = DatasetFactory(creator=user, files={"a.txt": b"a"})
        with django_capture_on_commit_callbacks(execute=True):
            response = admin_site.post(f"/admin/workspaces/dataset/{dataset.pk}/delete/", {"post": "yes"})
        assert response.status_code == 302
        assert not Dataset.objects.filter(pk=dataset.pk).exists()
        assert stored_names(dataset.pk) == []
