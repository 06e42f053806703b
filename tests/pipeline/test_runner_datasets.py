"""The runner's side of ``ctx.dataset_files`` and ``ctx.create_dataset``: local files of a dataset, and a
new dataset owned by the job's creator, shaped after the input, and gone again if storing fails."""

from __future__ import annotations

import logging
import threading

import pytest

from contracts.models import Domain, Licence
from executors.context import ExecutionContext, JobCancelled
from executors.runner import dataset_create_for_job, dataset_local_files
from jobtemplates.models import Job
from jobtemplates.services.templates import template_import
from tests.factories import DatasetFactory, ProjectFactory, UserFactory
from tests.pipeline.conftest import template_body
from workspaces.models import Dataset

pytestmark = pytest.mark.django_db


@pytest.fixture
def catalogue(seeded_catalogue):
    return {"ic": Domain.objects.get(name="ic"), "licence": Licence.objects.get(name="CC-BY-4.0")}


@pytest.fixture
def job_of(catalogue, admin_user):
    template = template_import(data=template_body("noop"), creator=admin_user).template
    return lambda creator: Job.objects.create(template=template, creator=creator)


@pytest.fixture
def source(catalogue, media):
    """A public image-classification dataset of somebody else's."""
    return DatasetFactory(
        name="pictures",
        domain=catalogue["ic"],
        licence=catalogue["licence"],
        is_public=True,
        files={"cat/1.png": b"one", "dog/2.png": b"two", "notes.txt": b"n"},
    )


def test_local_files_in_name_order_readable_at_their_paths(source, tmp_path):
    files = list(dataset_local_files(source, tmp_path))
    assert [f.filename for f in files] == ["cat/1.png", "dog/2.png", "notes.txt"]
    assert [f.path.read_bytes() for f in files] == [b"one", b"two", b"n"]


def test_the_new_dataset_is_the_creators_and_shaped_like_the_input(job_of, source, user, tmp_path):
    (tmp_path / "image.png").write_bytes(b"from a path")
    pk = dataset_create_for_job(
        job=job_of(user),
        name="pictures-predictions",
        like=source,
        description="d",
        files=[("predictions.csv", b"a,b\n"), ("cat/1.png", tmp_path / "image.png")],
    )
    created = Dataset.objects.get(pk=pk)
    assert (created.name, created.version, created.description) == ("pictures-predictions", 1, "d")
    assert created.creator == user and created.creator != source.creator
    assert (created.domain, created.licence, created.is_public, created.project) == (
        source.domain,
        source.licence,
        True,
        None,
    )
    stored = {f.filename: f.file.open("rb").read() for f in created.files.all()}
    assert stored == {"predictions.csv": b"a,b\n", "cat/1.png": b"from a path"}
    again = dataset_create_for_job(job=job_of(user), name="pictures-predictions", like=source, files=[])
    assert Dataset.objects.get(pk=again).version == 2


def test_a_private_input_gives_a_private_dataset(job_of, source, user):
    source.is_public = False
    source.save()
    pk = dataset_create_for_job(job=job_of(user), name="p", like=source, files=[])
    assert Dataset.objects.get(pk=pk).is_public is False


def test_the_input_project_is_kept_for_its_writers_only(job_of, source, user, other_user):
    project = ProjectFactory(members={user: "W", other_user: "R"})
    source.project = project
    source.save()
    writer = Dataset.objects.get(pk=dataset_create_for_job(job=job_of(user), name="p", like=source, files=[]))
    reader = Dataset.objects.get(pk=dataset_create_for_job(job=job_of(other_user), name="p", like=source, files=[]))
    outsider = UserFactory()
    stranger = Dataset.objects.get(pk=dataset_create_for_job(job=job_of(outsider), name="p", like=source, files=[]))
    nobody = Dataset.objects.get(pk=dataset_create_for_job(job=job_of(None), name="p", like=source, files=[]))
    # Who may not add datasets to the project gets a personal one.
    assert (writer.project, reader.project, stranger.project, nobody.project) == (project, None, None, None)
    assert nobody.creator is None


def failing_files():
    yield "a.png", b"stored first"
    raise RuntimeError("disk full")


def test_a_failure_part_way_leaves_no_dataset_and_no_files(
    job_of, source, user, media, django_capture_on_commit_callbacks
):
    before = {p for p in media.rglob("*") if p.is_file()}
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError, match="disk full"):
        dataset_create_for_job(job=job_of(user), name="half", like=source, files=failing_files())
    assert not Dataset.objects.filter(name="half").exists()
    assert {p for p in media.rglob("*") if p.is_file()} == before


def test_a_cancellation_part_way_leaves_no_dataset(job_of, source, user, django_capture_on_commit_callbacks):
    offered = []

    def files():
        for name in ("a.png", "b.png", "c.png"):
            offered.append(name)
            yield name, b"x"

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(JobCancelled):
        dataset_create_for_job(job=job_of(user), name="half", like=source, files=files(), stop=lambda: len(offered) > 1)
    assert offered == ["a.png", "b.png"]  # stopped before storing the second file
    assert not Dataset.objects.filter(name="half").exists()


def test_a_context_without_dataset_access_says_so(tmp_path):
    ctx = ExecutionContext(
        job_id=1,
        inputs={},
        parameters={},
        outputs={},
        scratch_dir=tmp_path,
        cancelled=threading.Event(),
        write=lambda *a: None,
        logger=logging.getLogger("t"),
    )
    with pytest.raises(NotImplementedError, match="without dataset access"):
        list(ctx.dataset_files(object()))
    with pytest.raises(NotImplementedError, match="without dataset access"):
        ctx.create_dataset(name="x", files=[], like=object())
