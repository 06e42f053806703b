"""Dataset actions beyond create/read/update/delete, driven as UFDL's client sends them: the domain routes
(creating there sets the domain), file metadata, several files at once, zip and tar.gz archives, copy,
merge and clear (annotations follow their files), categories and transcriptions."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import zipfile

import pytest

from tests.factories import DatasetFactory, ProjectFactory, UserFactory
from tests.workspaces.ufdl_client import UFDLError
from workspaces.models import Category, Dataset, DatasetFile

pytestmark = pytest.mark.django_db


def refused(call, status: int) -> dict:
    with pytest.raises(UFDLError) as error:
        call()
    assert error.value.status_code == status, error.value.detail
    return error.value.detail


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture
def lab(db, ufdl):
    """alice (W) and carol (R) in the team of project lab; dave in no team."""
    sessions = {name: ufdl(name) for name in ("alice", "carol", "dave")}
    project = ProjectFactory(
        name="lab",
        members={UserFactory(username="alice"): "W", UserFactory(username="carol"): "R"},
    )
    return project, sessions


@pytest.fixture
def ic(lab, domains, licence):
    """alice's image-classification dataset in lab, with three images."""
    project, sessions = lab
    alice = sessions["alice"]
    dataset = alice.ic_datasets.create("pets", project.pk, licence.pk, description="cats and dogs", tags="pets")
    for name in ("cat1.png", "cat2.png", "dog1.png"):
        alice.ic_datasets.add_file(dataset["pk"], name, name.encode())
    return dataset["pk"], sessions


class TestDomainRoutes:
    @pytest.mark.parametrize(
        ("resource", "domain"),
        [
            ("ic_datasets", "Image Classification"),
            ("sc_datasets", "Spectrum Classification"),
            ("speech_datasets", "Speech"),
        ],
    )
    def test_creating_on_a_domain_route_sets_the_domain(self, lab, domains, licence, resource, domain):
        project, sessions = lab
        created = getattr(sessions["alice"], resource).create("d", project.pk, licence.pk)
        assert created["domain"] == domain and created["project"] == project.pk
        assert Dataset.objects.get(pk=created["pk"]).domain.description == domain
        # The core route shows every domain's datasets; a domain route only its own.
        assert [d["pk"] for d in sessions["alice"].datasets.list()] == [created["pk"]]

    def test_each_domain_route_lists_and_reaches_only_its_domain(self, client, user, domains):
        ic = DatasetFactory(creator=user, domain=domains["ic"])
        od = DatasetFactory(creator=user, domain=domains["od"])
        core = DatasetFactory(creator=user, domain=None)
        for prefix, pk in (("classify", ic.pk), ("objdet", od.pk)):
            assert [d["pk"] for d in client.post(f"/v1/{prefix}/datasets/list").json()] == [pk]
        assert client.get(f"/v1/classify/datasets/{od.pk}").status_code == 404
        assert [d["pk"] for d in client.post("/v1/datasets/list").json()] == [ic.pk, od.pk, core.pk]
        assert client.get(f"/v1/datasets/{core.pk}").json()["domain"] is None

    def test_the_core_route_makes_datasets_without_a_domain(self, lab, domains, licence):
        project, sessions = lab
        created = sessions["alice"].datasets.create("raw", project.pk, licence.pk)
        assert created["domain"] is None
        for key in ("pk", "name", "version", "previous_version", "description", "project", "licence"):
            assert key in created
        assert (created["previous_version"], created["tags"], created["files"]) == (-1, "", {})

    def test_a_domain_in_the_body_must_be_the_routes(self, client, user, domains, licence):
        body = {"name": "x", "licence": licence.pk, "domain": "od"}
        response = client.post("/v1/classify/datasets/create", body, format="json")
        assert response.status_code == 422 and response.json()["errors"][0]["path"] == "domain"

    def test_a_classify_dataset_is_a_value_of_an_image_classification_dataset_input(self, lab, domains, licence):
        from contracts.resident import value_problems
        from contracts.types import parse_type

        project, sessions = lab
        created = sessions["alice"].ic_datasets.create("pets", project.pk, licence.pk)
        core = sessions["alice"].datasets.create("raw", project.pk, licence.pk)
        alice = UserFactory(username="alice")
        type_ = parse_type("PK<Dataset<Domain<'Image Classification'>>>")
        assert value_problems(type_, created["pk"], user=alice, path="dataset") == []
        assert [p.code for p in value_problems(type_, core["pk"], user=alice, path="dataset")] == ["not_found"]

    def test_object_detection_and_segmentation_routes_exist_for_datasets(self, lab, domains, licence):
        project, sessions = lab
        context = sessions["alice"].context
        for prefix in ("objdet", "segments"):
            created = context.post(
                f"v1/{prefix}/datasets/create", {"name": "d", "project": project.pk, "licence": licence.pk}
            ).json()
            assert created["domain"] in ("Object Detection", "Image Segmentation")


class TestCategories:
    def test_add_remove_set_and_get_as_the_client_sends_them(self, ic):
        pk, sessions = ic
        alice = sessions["alice"]
        added = alice.ic_datasets.add_categories(pk, ["cat1.png", "cat2.png"], ["cat", "pet"])
        assert added == {"cat1.png": ["cat", "pet"], "cat2.png": ["cat", "pet"]}
        # Only what changed is answered.
        assert alice.ic_datasets.add_categories(pk, ["cat1.png", "dog1.png"], ["pet"]) == {"dog1.png": ["pet"]}
        assert alice.ic_datasets.remove_categories(pk, ["cat2.png"], ["pet", "bird"]) == {"cat2.png": ["pet"]}
        assert alice.ic_datasets.set_categories(pk, {"dog1.png": ["dog"], "cat2.png": []}) == {
            "dog1.png": ["dog"],
            "cat2.png": [],
        }
        assert alice.ic_datasets.get_categories(pk) == {"cat1.png": ["cat", "pet"]} | {"dog1.png": ["dog"]}
        assert alice.ic_datasets.retrieve(pk)["categories"] == {"cat1.png": ["cat", "pet"], "dog1.png": ["dog"]}
        assert sessions["carol"].ic_datasets.get_categories(pk)["dog1.png"] == ["dog"]  # readers read
        assert alice.context.get(f"v1/classify/datasets/{pk}/categories/cat1.png").json() == ["cat", "pet"]
        assert alice.context.get(f"v1/classify/datasets/{pk}/categories/cat2.png").json() == []

    def test_every_problem_at_once_and_nothing_changes(self, ic):
        pk, sessions = ic
        alice = sessions["alice"]
        body = refused(lambda: alice.ic_datasets.add_categories(pk, ["cat1.png", "nope.png", "gone.png"], ["x"]), 422)
        assert [(e["path"], e["code"]) for e in body["errors"]] == [
            ("images[1]", "not_found"),
            ("images[2]", "not_found"),
        ]
        assert not Category.objects.exists()
        body = refused(lambda: alice.ic_datasets.set_categories(pk, {"cat1.png": ["a", "a"], "x.png": ["b"]}), 400)
        assert {e["path"] for e in body["errors"]} == {"cat1.png"}
        body = refused(lambda: alice.ic_datasets.set_categories(pk, {"cat1.png": ["a"], "x.png": ["b"]}), 422)
        assert [e["path"] for e in body["errors"]] == ["x.png"]
        assert not Category.objects.exists()
        for images, categories in (([], ["x"]), (["cat1.png"], [""]), (["cat1.png", "cat1.png"], ["x"])):
            refused(lambda i=images, c=categories: alice.ic_datasets.add_categories(pk, i, c), 400)
        response = alice.context._json("PATCH", f"v1/classify/datasets/{pk}/categories", {"method": "replace"})
        assert response.status_code == 400

    def test_readers_and_strangers_change_nothing(self, ic):
        pk, sessions = ic
        refused(lambda: sessions["carol"].ic_datasets.add_categories(pk, ["cat1.png"], ["x"]), 403)
        refused(lambda: sessions["dave"].ic_datasets.get_categories(pk), 404)
        refused(lambda: sessions["dave"].ic_datasets.add_categories(pk, ["cat1.png"], ["x"]), 404)

    def test_a_files_categories_go_with_it(self, ic):
        pk, sessions = ic
        alice = sessions["alice"]
        alice.ic_datasets.add_categories(pk, ["cat1.png"], ["cat"])
        alice.ic_datasets.delete_file(pk, "cat1.png")
        assert alice.ic_datasets.get_categories(pk) == {}
        alice.ic_datasets.add_file(pk, "cat1.png", b"again")
        assert alice.ic_datasets.get_categories(pk) == {}

    def test_spectrum_datasets_have_categories_too(self, lab, domains, licence):
        project, sessions = lab
        alice = sessions["alice"]
        pk = alice.sc_datasets.create("spectra", project.pk, licence.pk)["pk"]
        alice.sc_datasets.add_file(pk, "s1.spec", b"1 2 3")
        assert alice.sc_datasets.add_categories(pk, ["s1.spec"], ["wheat"]) == {"s1.spec": ["wheat"]}
        assert alice.sc_datasets.retrieve(pk)["categories"] == {"s1.spec": ["wheat"]}

    def test_lists_with_categories_run_a_constant_number_of_queries(
        self, client, user, domains, django_assert_max_num_queries
    ):
        for _ in range(2):
            DatasetFactory(creator=user, files={"a.png": b"a", "b.png": b"b"}, categories={"a.png": ["x", "y"]})
        with django_assert_max_num_queries(6) as few:
            client.post("/v1/classify/datasets/list")
        for index in range(6):
            DatasetFactory(creator=user, files={"c.png": b"c"}, categories={"c.png": [f"l{index}"]})
        with django_assert_max_num_queries(len(few.captured_queries)):
            assert len(client.post("/v1/classify/datasets/list").json()) == 8


class TestTranscriptions:
    def test_get_and_set_as_the_client_sends_them(self, lab, domains, licence):
        project, sessions = lab
        alice = sessions["alice"]
        pk = alice.speech_datasets.create("talk", project.pk, licence.pk)["pk"]
        alice.speech_datasets.add_file(pk, "a.wav", b"RIFF")
        assert alice.speech_datasets.get_transcription_for_file(pk, "a.wav") == {"transcription": ""}
        assert alice.speech_datasets.set_transcription_for_file(pk, "a.wav", "hello") == {"transcription": "hello"}
        assert alice.speech_datasets.get_transcriptions(pk) == {"a.wav": {"transcription": "hello"}}
        assert alice.speech_datasets.retrieve(pk)["transcriptions"] == {"a.wav": {"transcription": "hello"}}
        # UFDL stored a transcription for a file it did not have.
        refused(lambda: alice.speech_datasets.set_transcription_for_file(pk, "missing.wav", "x"), 404)
        refused(lambda: sessions["carol"].speech_datasets.set_transcription_for_file(pk, "a.wav", "x"), 403)


class TestMetadata:
    def test_per_file_and_all(self, ic):
        pk, sessions = ic
        alice = sessions["alice"]
        assert alice.ic_datasets.get_metadata(pk, "cat1.png") == ""
        assert alice.ic_datasets.set_metadata(pk, "cat1.png", '{"source": "camera"}') == '{"source": "camera"}'
        assert sessions["carol"].ic_datasets.get_metadata(pk, "cat1.png") == '{"source": "camera"}'
        assert alice.ic_datasets.get_all_metadata(pk) == {
            "cat1.png": '{"source": "camera"}',
            "cat2.png": "",
            "dog1.png": "",
        }
        refused(lambda: alice.ic_datasets.set_metadata(pk, "nope.png", "x"), 404)
        refused(lambda: sessions["carol"].ic_datasets.set_metadata(pk, "cat1.png", "x"), 403)
        response = alice.context._json("POST", f"v1/classify/datasets/{pk}/metadata/cat1.png", {"meta": "x"})
        assert response.status_code == 400 and response.json()["errors"][0]["path"] == "metadata"


class TestManyFiles:
    def test_a_zip_body_adds_every_entry_or_none(self, client, user, django_capture_on_commit_callbacks):
        dataset = DatasetFactory(creator=user)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("cats/1.png", b"one")
            archive.writestr("cats/", b"")  # a folder entry: skipped
            archive.writestr("dogs/2.png", b"two")
        response = client.generic(
            "POST", f"/v1/datasets/{dataset.pk}/files-multi", buffer.getvalue(), content_type="application/zip"
        )
        assert response.status_code == 200, response.content
        assert response.json() == {"cats/1.png": sha(b"one"), "dogs/2.png": sha(b"two")}
        assert client.get(f"/v1/datasets/{dataset.pk}").json()["files"] == response.json()

    def test_bad_names_in_an_archive_are_all_reported_and_nothing_is_stored(self, client, user):
        dataset = DatasetFactory(creator=user)
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            for name in ("ok.png", "../escape.png", "a//b.png"):
                info = tarfile.TarInfo(name)
                info.size = 1
                archive.addfile(info, io.BytesIO(b"x"))
        response = client.generic(
            "POST", f"/v1/datasets/{dataset.pk}/files-multi", buffer.getvalue(), content_type="application/gzip"
        )
        assert response.status_code == 422
        assert [e["path"] for e in response.json()["errors"]] == ["files[1]", "files[2]"]
        assert not DatasetFile.objects.exists()

    def test_multipart_parts_are_named_by_their_fields(self, client, user):
        dataset = DatasetFactory(creator=user)
        response = client.post(
            f"/v1/datasets/{dataset.pk}/files-multi",
            {"cats/1.png": io.BytesIO(b"one"), "2.png": io.BytesIO(b"two")},
            format="multipart",
        )
        assert response.status_code == 200, response.content
        assert sorted(response.json()) == ["2.png", "cats/1.png"]

    def test_not_an_archive_and_too_many_files(self, client, user, settings):
        dataset = DatasetFactory(creator=user)
        broken = client.generic(
            "POST", f"/v1/datasets/{dataset.pk}/files-multi", b"PK junk", content_type="application/zip"
        )
        assert broken.status_code == 400 and broken.json()["errors"][0]["code"] == "bad_archive"
        plain = client.generic("POST", f"/v1/datasets/{dataset.pk}/files-multi", b"x", content_type="text/plain")
        assert plain.status_code == 400
        settings.DATASET_ARCHIVE_MAX_FILES = 2
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            for index in range(3):
                archive.writestr(f"{index}.txt", b"x")
        many = client.generic(
            "POST", f"/v1/datasets/{dataset.pk}/files-multi", buffer.getvalue(), content_type="application/zip"
        )
        assert many.status_code == 400 and many.json()["code"] == "too_many_files"
        assert not DatasetFile.objects.exists()

    def test_an_entry_past_the_size_limit_is_413_whatever_the_archive_claims(self, client, user, settings):
        settings.DATASET_FILE_MAX_BYTES = 1000
        dataset = DatasetFactory(creator=user)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("bomb.bin", b"\0" * 100_000)  # compresses to well under the limit
        assert len(buffer.getvalue()) < 1000
        response = client.generic(
            "POST", f"/v1/datasets/{dataset.pk}/files-multi", buffer.getvalue(), content_type="application/zip"
        )
        assert response.status_code == 413
        assert not DatasetFile.objects.exists()

    def test_delete_several_files(self, client, user):
        dataset = DatasetFactory(creator=user, files={"a": b"a", "b": b"b", "c": b"c"})
        missing = client.generic(
            "DELETE",
            f"/v1/datasets/{dataset.pk}/files-multi",
            json.dumps({"filenames": ["a", "x", "y"]}),
            content_type="application/json",
        )
        assert missing.status_code == 404
        assert [e["path"] for e in missing.json()["errors"]] == ["filenames[1]", "filenames[2]"]
        removed = client.generic(
            "DELETE",
            f"/v1/datasets/{dataset.pk}/files-multi",
            json.dumps({"filenames": ["a", "c"]}),
            content_type="application/json",
        )
        assert removed.status_code == 200 and sorted(removed.json()) == ["a", "c"]
        assert list(client.get(f"/v1/datasets/{dataset.pk}").json()["files"]) == ["b"]


class TestArchives:
    def test_zip_and_tar_gz_as_the_client_asks(self, ic):
        pk, sessions = ic
        alice = sessions["alice"]
        names = {"cat1.png", "cat2.png", "dog1.png"}
        zipped = zipfile.ZipFile(io.BytesIO(alice.ic_datasets.download(pk)))
        assert set(zipped.namelist()) == names and zipped.read("cat1.png") == b"cat1.png"
        with tarfile.open(fileobj=io.BytesIO(alice.ic_datasets.download(pk, filetype="tar.gz"))) as tarred:
            assert set(tarred.getnames()) == names
            assert tarred.extractfile("dog1.png").read() == b"dog1.png"
        response = alice.context._send("GET", f"v1/classify/datasets/{pk}/download?filetype=tar.gz")
        assert response["Content-Disposition"] == 'attachment; filename="pets.v1.tar.gz"'
        assert refused(lambda: alice.ic_datasets.download(pk, filetype="rar"), 400)["code"] == "unsupported_format"

    def test_annotation_conversion_is_not_built(self, ic):
        pk, sessions = ic
        response = sessions["alice"].context._json(
            "GET",
            f"v1/classify/datasets/{pk}/download",
            {"filetype": "zip", "params": {"annotations_args": ["to-coco-od"]}},
        )
        assert response.status_code == 501 and response.json()["code"] == "not_implemented"


class TestCopyMergeClear:
    def test_copy_is_the_next_version_with_files_metadata_and_categories(self, ic):
        pk, sessions = ic
        alice = sessions["alice"]
        alice.ic_datasets.add_categories(pk, ["cat1.png"], ["cat"])
        alice.ic_datasets.set_metadata(pk, "cat1.png", "m")
        copy = alice.ic_datasets.copy(pk)
        assert (copy["name"], copy["version"], copy["previous_version"]) == ("pets", 2, 1)
        assert copy["files"] == alice.ic_datasets.retrieve(pk)["files"]
        assert copy["categories"] == {"cat1.png": ["cat"]} and copy["creator"] == UserFactory(username="alice").pk
        assert alice.ic_datasets.get_metadata(copy["pk"], "cat1.png") == "m"
        assert alice.ic_datasets.get_file(copy["pk"], "dog1.png") == b"dog1.png"
        renamed = alice.ic_datasets.copy(pk, new_name="kittens")
        assert (renamed["name"], renamed["version"], renamed["previous_version"]) == ("kittens", 1, -1)
        partial = alice.context.post(f"v1/classify/datasets/{pk}/copy", {"only_files": ["cat1.png"]}).json()
        assert list(partial["files"]) == ["cat1.png"]
        missing = alice.context._json("POST", f"v1/classify/datasets/{pk}/copy", {"only_files": ["cat1.png", "x"]})
        assert missing.status_code == 422 and missing.json()["errors"][0]["path"] == "only_files[1]"

    def test_copying_takes_write_where_the_copy_goes(self, ic):
        pk, sessions = ic
        # carol reads lab (UFDL let any member copy, so readers could create datasets).
        refused(lambda: sessions["carol"].ic_datasets.copy(pk), 403)
        refused(lambda: sessions["dave"].ic_datasets.copy(pk), 404)
        personal = sessions["carol"].context.post(f"v1/classify/datasets/{pk}/copy", {"project": None}).json()
        assert personal["project"] is None and personal["creator"] == UserFactory(username="carol").pk

    def test_merge_shares_same_content_and_renames_clashes(self, ic, licence):
        pk, sessions = ic
        alice = sessions["alice"]
        other = alice.ic_datasets.create("more-pets", Dataset.objects.get(pk=pk).project_id, licence.pk)["pk"]
        alice.ic_datasets.add_file(other, "cat1.png", b"cat1.png")  # same content
        alice.ic_datasets.add_file(other, "dog1.png", b"another dog")  # same name, other content
        alice.ic_datasets.add_file(other, "bird.png", b"tweet")
        alice.ic_datasets.add_categories(other, ["cat1.png", "dog1.png"], ["animal"])
        merged = alice.ic_datasets.merge(pk, other, delete=True)
        assert sorted(merged["files"]) == ["bird.png", "cat1.png", "cat2.png", "dog1.png", "dog1_1.png"]
        assert alice.ic_datasets.get_file(pk, "dog1_1.png") == b"another dog"
        assert merged["categories"] == {"cat1.png": ["animal"], "dog1_1.png": ["animal"]}
        assert Dataset.objects.get(pk=other).deletion_time is not None  # delete: soft
        hard = refused(
            lambda: alice.ic_datasets.merge(pk, alice.ic_datasets.copy(pk)["pk"], delete=True, hard=True), 403
        )
        assert hard["errors"][0]["path"] == "hard"  # deleting for good stays an administrator's

    def test_merge_across_domains_is_refused(self, ic, lab, licence):
        pk, sessions = ic
        project, _ = lab
        alice = sessions["alice"]
        speech = alice.speech_datasets.create("talk", project.pk, licence.pk)["pk"]
        assert refused(lambda: alice.datasets.merge(pk, speech, delete=False), 422)["errors"][0]["code"] == (
            "domain_mismatch"
        )

    def test_clear_removes_metadata_and_annotations_not_files(self, ic):
        pk, sessions = ic
        alice = sessions["alice"]
        alice.ic_datasets.add_categories(pk, ["cat1.png"], ["cat"])
        alice.ic_datasets.set_metadata(pk, "cat1.png", "m")
        refused(lambda: sessions["carol"].ic_datasets.clear(pk), 403)
        cleared = alice.ic_datasets.clear(pk)
        assert cleared["categories"] == {} and len(cleared["files"]) == 3
        assert alice.ic_datasets.get_all_metadata(pk) == {"cat1.png": "", "cat2.png": "", "dog1.png": ""}
