"""API tests of ``/v1/objdet/datasets`` (UFDL's object-detection routes, notes §4.4): labels, prefixes, file
types and annotations in UFDL's shapes, strict validation, permissions by project membership, copy /
merge / clear carrying the annotations, and constant query counts. Requests are sent as UFDL's Python
client sends them: no trailing slash, JSON bodies, and a ``{}`` body on every GET."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import DatasetFactory, DomainFactory, LicenceFactory, ProjectFactory, member_of
from workspaces.models import DetectionAnnotation, DetectionLabel

pytestmark = pytest.mark.django_db

CAR = {"x": 1, "y": 2, "width": 10, "height": 20, "label": "car"}
CAR_OUT = {**CAR, "prefix": "Object"}
DOG = {
    "x": -5,
    "y": 0,
    "width": 0,
    "height": 7,
    "polygon": {"points": [[1, 2], [11, 2], [11, 22]]},
    "label": "dog",
    "prefix": "Animal",
}
FRAME = {"x": 0, "y": 0, "width": 4, "height": 4, "label": "car", "prefix": "Object", "time": 1.5}


@pytest.fixture
def project(user):
    project = ProjectFactory(name="detection")
    member_of(user, project, "W")
    return project


@pytest.fixture
def dataset(project):
    return DatasetFactory(
        domain=DomainFactory(name="od"),
        project=project,
        files={"a.jpg": b"image a", "sub/b.jpg": b"image b", "clip.mp4": b"video"},
    )


def url(dataset, tail: str = "") -> str:
    return f"/v1/objdet/datasets/{dataset.pk}" + (f"/{tail}" if tail else "")


def get(client, path: str):
    """A GET as UFDL's client sends it: with a JSON body ``{}``."""
    return client.generic("GET", path, "{}", content_type="application/json")


def send(client, method: str, path: str, body=None):
    data = "" if body is None else json.dumps(body)
    return client.generic(method, path, data, content_type="application/json")


def paths(response) -> list[str]:
    return [problem["path"] for problem in response.json()["errors"]]


# --- labels and prefixes ------------------------------------------------------------------------------


class TestLabelsAndPrefixes:
    def test_add_and_list_labels(self, client, dataset):
        assert get(client, url(dataset, "labels")).json() == []
        response = send(client, "POST", url(dataset, "labels"), ["dog", "car", "dog"])
        assert response.status_code == 200, response.content
        assert response.json() == {}
        assert get(client, url(dataset, "labels")).json() == ["car", "dog"]
        assert get(client, url(dataset, "labels") + "/").json() == ["car", "dog"]  # an optional slash
        send(client, "POST", url(dataset, "labels"), ["car", "bus"])
        assert get(client, url(dataset, "labels")).json() == ["bus", "car", "dog"]

    def test_annotations_add_their_labels_and_prefixes(self, client, dataset):
        send(client, "POST", url(dataset, "labels"), ["tree"])
        assert send(client, "POST", url(dataset, "annotations/a.jpg"), [CAR, DOG]).status_code == 200
        assert get(client, url(dataset, "labels")).json() == ["car", "dog", "tree"]
        assert get(client, url(dataset, "prefixes")).json() == ["Animal", "Object"]

    def test_every_bad_label_is_reported_at_once(self, client, dataset):
        response = send(client, "POST", url(dataset, "labels"), ["ok", "", 3, "two\nlines", "x" * 201])
        assert response.status_code == 400
        assert paths(response) == ["[1]", "[2]", "[3]", "[4]"]
        assert send(client, "POST", url(dataset, "labels"), {"labels": ["a"]}).status_code == 400
        assert get(client, url(dataset, "labels")).json() == []

    def test_deleting_a_label_removes_the_annotations_using_it(self, client, dataset):
        send(client, "POST", url(dataset, "annotations/a.jpg"), [CAR, DOG, {**CAR, "x": 3}])
        send(client, "POST", url(dataset, "annotations/sub/b.jpg"), [CAR])
        response = send(client, "DELETE", url(dataset, "labels/car"))
        assert response.status_code == 200, response.content
        assert response.json() == {}
        assert get(client, url(dataset, "labels")).json() == ["dog"]
        assert [a["label"] for a in get(client, url(dataset, "annotations/a.jpg")).json()] == ["dog"]
        assert get(client, url(dataset, "annotations/sub/b.jpg")).json() == []

    def test_deleting_an_unknown_label_is_404(self, client, dataset):
        response = send(client, "DELETE", url(dataset, "labels/nothing"))
        assert response.status_code == 404
        assert response.json()["errors"][0]["path"] == "label"

    def test_deleting_a_prefix_deletes_the_prefix_not_a_label(self, client, dataset):
        # UFDL's delete_prefix removed the *label* of that name.
        send(client, "POST", url(dataset, "labels"), ["Animal"])
        send(client, "POST", url(dataset, "annotations/a.jpg"), [CAR, DOG])
        response = send(client, "DELETE", url(dataset, "prefixes/Animal"))
        assert response.status_code == 200, response.content
        assert get(client, url(dataset, "prefixes")).json() == ["Object"]
        assert get(client, url(dataset, "labels")).json() == ["Animal", "car", "dog"]
        assert get(client, url(dataset, "annotations/a.jpg")).json() == [CAR_OUT]
        send(client, "POST", url(dataset, "prefixes"), ["Plant"])
        assert get(client, url(dataset, "prefixes")).json() == ["Object", "Plant"]


# --- file types ---------------------------------------------------------------------------------------


class TestFileTypes:
    def test_set_and_get_file_types(self, client, dataset):
        assert get(client, url(dataset, "file-type/a.jpg")).json() == {}
        body = {"format": "jpg", "dimensions": [640, 480]}
        assert send(client, "POST", url(dataset, "file-type/a.jpg"), body).json() == {}
        video = {"format": "mp4", "dimensions": [1920, 1080], "length": 12.5}
        assert send(client, "POST", url(dataset, "file-type/clip.mp4"), video).status_code == 200
        assert get(client, url(dataset, "file-type/a.jpg")).json() == body
        assert get(client, url(dataset, "file-types")).json() == {"a.jpg": body, "clip.mp4": video}
        # Setting it again replaces it (UFDL refused: "File-type already set").
        send(client, "POST", url(dataset, "file-type/a.jpg"), {"format": "png"})
        assert get(client, url(dataset, "file-type/a.jpg")).json() == {"format": "png"}

    def test_every_bad_field_is_reported_at_once(self, client, dataset):
        body = {"format": 3, "dimensions": [0, 1.5], "length": -1, "colour": "red"}
        response = send(client, "POST", url(dataset, "file-type/a.jpg"), body)
        assert response.status_code == 400
        assert sorted(paths(response)) == ["colour", "dimensions", "format", "length"]
        assert get(client, url(dataset, "file-type/a.jpg")).json() == {}

    def test_a_file_the_dataset_lacks_is_404(self, client, dataset):
        assert get(client, url(dataset, "file-type/none.jpg")).status_code == 404
        assert send(client, "POST", url(dataset, "file-type/none.jpg"), {}).status_code == 404

    def test_an_annotated_image_cannot_become_a_video(self, client, dataset):
        send(client, "POST", url(dataset, "annotations/a.jpg"), [CAR])
        response = send(client, "POST", url(dataset, "file-type/a.jpg"), {"length": 3})
        assert response.status_code == 409
        assert response.json()["code"] == "annotation_kind"


# --- one file's annotations ---------------------------------------------------------------------------


class TestFileAnnotations:
    def test_set_add_get_and_delete(self, client, dataset):
        assert get(client, url(dataset, "annotations/sub/b.jpg")).json() == []
        assert send(client, "POST", url(dataset, "annotations/sub/b.jpg"), [CAR]).json() == {}
        assert get(client, url(dataset, "annotations/sub/b.jpg")).json() == [CAR_OUT]
        assert send(client, "PATCH", url(dataset, "annotations/sub/b.jpg"), [DOG]).json() == {}
        assert get(client, url(dataset, "annotations/sub/b.jpg")).json() == [CAR_OUT, DOG]
        # Keys in UFDL's order: x, y, width, height, polygon, label, prefix.
        assert list(get(client, url(dataset, "annotations/sub/b.jpg")).json()[1]) == list(DOG)
        send(client, "POST", url(dataset, "annotations/sub/b.jpg"), [DOG])
        assert get(client, url(dataset, "annotations/sub/b.jpg")).json() == [DOG]
        assert send(client, "DELETE", url(dataset, "annotations/sub/b.jpg")).json() == {}
        assert get(client, url(dataset, "annotations/sub/b.jpg")).json() == []

    def test_every_problem_is_reported_at_once_and_nothing_changes(self, client, dataset):
        send(client, "POST", url(dataset, "annotations/a.jpg"), [CAR])
        bad = [
            CAR,
            {"x": 1.5, "y": "2", "width": -1, "height": True, "label": ""},
            {**DOG, "polygon": {"points": [[1, 2], [3, 4]]}, "colour": "red"},
            {"x": 0, "y": 0, "width": 2**31, "height": 1, "prefix": ""},
            "not an object",
        ]
        response = send(client, "POST", url(dataset, "annotations/a.jpg"), bad)
        assert response.status_code == 400
        assert sorted(paths(response)) == sorted(
            [
                "[1].x",
                "[1].y",
                "[1].width",
                "[1].height",
                "[1].label",
                "[2].colour",
                "[2].polygon.points",
                "[3].width",
                "[3].label",
                "[3].prefix",
                "[4]",
            ]
        )
        assert send(client, "POST", url(dataset, "annotations/a.jpg"), {"x": 1}).status_code == 400
        assert get(client, url(dataset, "annotations/a.jpg")).json() == [CAR_OUT]

    def test_a_file_the_dataset_lacks_is_404(self, client, dataset):
        assert get(client, url(dataset, "annotations/none.jpg")).status_code == 404
        assert send(client, "POST", url(dataset, "annotations/none.jpg"), [CAR]).status_code == 404
        assert send(client, "PATCH", url(dataset, "annotations/none.jpg"), [CAR]).status_code == 404
        assert send(client, "DELETE", url(dataset, "annotations/none.jpg")).status_code == 404
        assert not DetectionLabel.objects.exists()  # nothing added on the way

    def test_a_video_takes_video_annotations_only(self, client, dataset):
        send(client, "POST", url(dataset, "file-type/clip.mp4"), {"length": 10})
        response = send(client, "POST", url(dataset, "annotations/clip.mp4"), [FRAME, CAR])
        assert response.status_code == 422
        assert paths(response) == ["[1].time"]
        assert send(client, "POST", url(dataset, "annotations/clip.mp4"), [FRAME]).status_code == 200
        assert get(client, url(dataset, "annotations/clip.mp4")).json() == [FRAME]
        response = send(client, "PATCH", url(dataset, "annotations/a.jpg"), [FRAME])
        assert response.status_code == 422
        assert paths(response) == ["[0].time"]

    def test_deleting_the_file_deletes_its_annotations(self, client, dataset):
        send(client, "POST", url(dataset, "annotations/a.jpg"), [CAR])
        send(client, "POST", url(dataset, "file-type/a.jpg"), {"format": "jpg"})
        assert send(client, "DELETE", url(dataset, "files/a.jpg")).status_code == 200
        assert get(client, url(dataset, "annotations")).json() == {}
        assert not DetectionAnnotation.objects.exists()


# --- the dataset's annotations -----------------------------------------------------------------------


ANNOTATIONS_FILE = {
    "a.jpg": {"format": "jpg", "dimensions": [640, 480], "annotations": [CAR_OUT, DOG]},
    "clip.mp4": {"format": "mp4", "length": 3.5, "annotations": [FRAME]},
}


class TestAnnotationsFile:
    def test_set_get_and_clear(self, client, dataset):
        send(client, "POST", url(dataset, "annotations/sub/b.jpg"), [CAR])
        response = send(client, "POST", url(dataset, "annotations"), ANNOTATIONS_FILE)
        assert response.status_code == 200, response.content
        assert response.json() == {}
        # sub/b.jpg, not named, lost its annotations.
        assert get(client, url(dataset, "annotations")).json() == ANNOTATIONS_FILE
        assert get(client, url(dataset, "file-types")).json() == {
            "a.jpg": {"format": "jpg", "dimensions": [640, 480]},
            "clip.mp4": {"format": "mp4", "length": 3.5},
        }
        assert send(client, "DELETE", url(dataset, "annotations")).json() == {}
        assert get(client, url(dataset, "annotations")).json() == {
            "a.jpg": {"format": "jpg", "dimensions": [640, 480], "annotations": []},
            "clip.mp4": {"format": "mp4", "length": 3.5, "annotations": []},
        }
        assert get(client, url(dataset, "labels")).json() == ["car", "dog"]  # the vocabulary stays

    def test_unknown_files_are_422_naming_each_and_nothing_changes(self, client, dataset):
        send(client, "POST", url(dataset, "annotations/a.jpg"), [CAR])
        body = {**ANNOTATIONS_FILE, "x.jpg": {"annotations": []}, "y/z.jpg": {"annotations": [CAR]}}
        response = send(client, "POST", url(dataset, "annotations"), body)
        assert response.status_code == 422
        assert paths(response) == ["x.jpg", "y/z.jpg"]
        assert get(client, url(dataset, "annotations/a.jpg")).json() == [CAR_OUT]

    def test_every_problem_is_reported_with_its_path(self, client, dataset):
        body = {
            "a.jpg": {"annotations": [CAR, {**CAR, "width": -3}], "dimensions": [1]},
            "clip.mp4": {"length": 2, "annotations": [CAR]},
            "sub/b.jpg": {"annotations": [FRAME]},
            "x.jpg": {"format": "jpg"},
            "y.jpg": [],
        }
        response = send(client, "POST", url(dataset, "annotations"), body)
        assert response.status_code == 400
        assert sorted(paths(response)) == sorted(
            [
                "a.jpg.annotations[1].width",
                "a.jpg.dimensions",
                "clip.mp4.annotations[0].time",
                "sub/b.jpg.annotations[0].time",
                "x.jpg.annotations",
                "y.jpg",
            ]
        )
        assert send(client, "POST", url(dataset, "annotations"), [CAR]).status_code == 400

    def test_the_representation_carries_the_annotations(self, client, dataset):
        send(client, "POST", url(dataset, "annotations"), ANNOTATIONS_FILE)
        data = get(client, url(dataset)).json()
        assert data["domain"] == "Object Detection"
        assert data["annotations"] == ANNOTATIONS_FILE
        assert list(data)[-2:] == ["files", "annotations"]
        listed = send(client, "POST", "/v1/objdet/datasets/list").json()
        assert [row["annotations"] for row in listed] == [ANNOTATIONS_FILE]

    def test_a_soft_deleted_dataset_cannot_change(self, client, dataset):
        assert send(client, "DELETE", url(dataset)).status_code == 204
        assert send(client, "POST", url(dataset, "labels"), ["car"]).status_code == 409
        assert send(client, "POST", url(dataset, "annotations/a.jpg"), [CAR]).status_code == 409


# --- permissions --------------------------------------------------------------------------------------


WRITES = [
    ("POST", "labels", ["car"]),
    ("DELETE", "labels/car", None),
    ("POST", "prefixes", ["Thing"]),
    ("DELETE", "prefixes/Object", None),
    ("POST", "file-type/a.jpg", {"format": "jpg"}),
    ("POST", "annotations", ANNOTATIONS_FILE),
    ("DELETE", "annotations", None),
    ("POST", "annotations/a.jpg", [CAR]),
    ("PATCH", "annotations/a.jpg", [CAR]),
    ("DELETE", "annotations/a.jpg", None),
]
READS = ["labels", "prefixes", "file-type/a.jpg", "file-types", "annotations", "annotations/a.jpg"]


class TestPermissions:
    @pytest.fixture
    def annotated(self, client, dataset):
        assert send(client, "POST", url(dataset, "annotations/a.jpg"), [CAR]).status_code == 200
        return dataset

    @pytest.mark.parametrize(("method", "tail", "body"), WRITES)
    def test_a_write_member_may_change(self, client, annotated, method, tail, body):
        assert send(client, method, url(annotated, tail), body).status_code == 200

    @pytest.mark.parametrize(("method", "tail", "body"), WRITES)
    def test_a_read_member_may_read_but_not_change(self, other_client, other_user, annotated, method, tail, body):
        member_of(other_user, annotated.project, "R")
        for read in READS:
            assert get(other_client, url(annotated, read)).status_code == 200
        response = send(other_client, method, url(annotated, tail), body)
        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"
        assert get(other_client, url(annotated, "annotations/a.jpg")).json() == [CAR_OUT]

    @pytest.mark.parametrize(("method", "tail", "body"), WRITES)
    def test_a_non_member_gets_404(self, other_client, annotated, method, tail, body):
        assert send(other_client, method, url(annotated, tail), body).status_code == 404
        for read in READS:
            assert get(other_client, url(annotated, read)).status_code == 404

    def test_anonymous_is_401(self, anon_client, annotated):
        assert get(anon_client, url(annotated, "labels")).status_code == 401


# --- copy, merge, clear -------------------------------------------------------------------------------


class TestCopyMergeClear:
    def test_copy_carries_labels_prefixes_types_and_annotations(self, client, dataset):
        send(client, "POST", url(dataset, "labels"), ["unused"])
        send(client, "POST", url(dataset, "prefixes"), ["Spare"])
        send(client, "POST", url(dataset, "annotations"), ANNOTATIONS_FILE)
        response = send(client, "POST", url(dataset, "copy"), {})
        assert response.status_code == 200, response.content
        copy = response.json()
        assert copy["annotations"] == ANNOTATIONS_FILE
        copy_url = f"/v1/objdet/datasets/{copy['pk']}"
        assert get(client, f"{copy_url}/labels").json() == ["car", "dog", "unused"]
        assert get(client, f"{copy_url}/prefixes").json() == ["Animal", "Object", "Spare"]
        # The copy's annotations are its own.
        send(client, "DELETE", f"{copy_url}/labels/car")
        assert get(client, url(dataset, "annotations")).json() == ANNOTATIONS_FILE

    def test_copy_of_some_files_takes_their_annotations(self, client, dataset):
        send(client, "POST", url(dataset, "annotations"), ANNOTATIONS_FILE)
        copy = send(client, "POST", url(dataset, "copy"), {"new_name": "part", "only_files": ["a.jpg"]}).json()
        assert copy["annotations"] == {"a.jpg": ANNOTATIONS_FILE["a.jpg"]}
        assert get(client, f"/v1/objdet/datasets/{copy['pk']}/labels").json() == ["car", "dog"]

    def test_merge_unions_vocabularies_and_carries_annotations(self, client, user, dataset, project):
        target = DatasetFactory(
            domain=dataset.domain, project=project, files={"a.jpg": b"image a", "t.jpg": b"target only"}
        )
        send(client, "POST", url(target, "labels"), ["tree"])
        send(client, "POST", url(target, "annotations/a.jpg"), [CAR])
        send(client, "POST", url(dataset, "annotations"), ANNOTATIONS_FILE)
        send(client, "PATCH", url(dataset, "annotations/sub/b.jpg"), [{**CAR, "label": "bus"}])
        response = send(client, "POST", url(target, f"merge/{dataset.pk}"), {"delete": False})
        assert response.status_code == 200, response.content
        merged = response.json()["annotations"]
        # The shared a.jpg (same content) gains the dog, not a second car; its type comes along.
        assert merged["a.jpg"]["annotations"] == [CAR_OUT, DOG]
        assert merged["clip.mp4"] == ANNOTATIONS_FILE["clip.mp4"]
        assert merged["sub/b.jpg"]["annotations"] == [{**CAR_OUT, "label": "bus"}]
        assert "t.jpg" not in merged
        assert get(client, url(target, "labels")).json() == ["bus", "car", "dog", "tree"]
        assert get(client, url(target, "prefixes")).json() == ["Animal", "Object"]

    def test_clear_removes_annotations_and_keeps_the_vocabulary(self, client, dataset):
        send(client, "POST", url(dataset, "annotations"), ANNOTATIONS_FILE)
        response = send(client, "DELETE", url(dataset, "clear"))
        assert response.status_code == 200, response.content
        assert all(entry["annotations"] == [] for entry in response.json()["annotations"].values())
        assert not DetectionAnnotation.objects.exists()
        assert get(client, url(dataset, "labels")).json() == ["car", "dog"]

    def test_hard_delete_removes_everything(self, admin_client, client, dataset):
        send(client, "POST", url(dataset, "annotations"), ANNOTATIONS_FILE)
        assert admin_client.delete(url(dataset, "hard")).status_code == 200
        assert not DetectionAnnotation.objects.exists()
        assert not DetectionLabel.objects.exists()


# --- query counts ------------------------------------------------------------------------------------


def count_queries(call) -> int:
    with CaptureQueriesContext(connection) as context:
        response = call()
    assert response.status_code == 200, response.content
    return len(context.captured_queries)


def annotate(client, dataset, count: int) -> None:
    body = {
        datafile.filename: {"format": "jpg", "annotations": [{**CAR, "label": f"l{i}"}, DOG]}
        for i, datafile in enumerate(dataset.files.all()[:count])
    }
    assert send(client, "POST", url(dataset, "annotations"), body).status_code == 200


class TestQueryCounts:
    @pytest.mark.parametrize("tail", ["annotations", "file-types", "labels", "prefixes", ""])
    def test_reads_of_a_dataset_are_constant(self, client, project, tail, django_assert_max_num_queries):
        small = DatasetFactory(domain=DomainFactory(name="od"), project=project, files={"a": b"a"})
        annotate(client, small, 1)
        few = count_queries(lambda: get(client, url(small, tail)))
        big = DatasetFactory(domain=small.domain, project=project, files={f"f{i}.jpg": bytes([i]) for i in range(15)})
        annotate(client, big, 15)
        with django_assert_max_num_queries(few):
            assert get(client, url(big, tail)).status_code == 200

    def test_lists_are_constant(self, client, user, project, django_assert_max_num_queries):
        domain = DomainFactory(name="od")
        annotate(client, DatasetFactory(domain=domain, project=project, files={"a": b"a"}), 1)
        few = count_queries(lambda: send(client, "POST", "/v1/objdet/datasets/list"))
        for index in range(5):
            other = DatasetFactory(
                domain=domain, project=project, licence=LicenceFactory(), files={f"f{index}": b"x", "g": b"y"}
            )
            annotate(client, other, 2)
        with django_assert_max_num_queries(few):
            assert len(send(client, "POST", "/v1/objdet/datasets/list").json()) == 6
        with django_assert_max_num_queries(few + 2):  # the paginated list also counts
            assert client.get("/v1/objdet/datasets").json()["count"] == 6
