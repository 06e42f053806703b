"""``manage.py seed_demo_data``: the digits datasets once, as PNG images in class folders, without a user;
repeating it changes nothing, an interrupted seeding is completed, a deleted dataset stays deleted."""

from __future__ import annotations

import io

import pytest
from django.core.files.base import ContentFile
from django.core.management import CommandError
from PIL import Image

from tests.factories import DatasetFactory
from tests.pipeline.conftest import run_command
from workspaces.models import Dataset, DatasetFile
from workspaces.services.datasets import dataset_file_delete, dataset_file_upload, dataset_soft_delete

pytestmark = pytest.mark.django_db


def lines(output: str) -> list[str]:
    return output.strip().splitlines()


def test_seeds_the_digits_once_and_then_changes_nothing(seeded_catalogue, media):
    first = lines(run_command("seed_demo_data"))
    digits, test = Dataset.objects.get(name="digits"), Dataset.objects.get(name="digits-test")
    assert first == [
        f"digits v1: created (pk {digits.pk}, 1618 images)",
        f"digits-test v1: created (pk {test.pk}, 179 images)",
    ]
    for dataset in (digits, test):
        assert (dataset.version, dataset.is_public, dataset.creator, dataset.domain.name, dataset.licence.name) == (
            1,
            True,
            None,
            "ic",
            "CC-BY-4.0",
        )
        assert "scikit-learn" in dataset.description and "CC BY 4.0" in dataset.description
    train_names = set(digits.files.values_list("filename", flat=True))
    test_names = set(test.files.values_list("filename", flat=True))
    assert len(train_names) == 1618 and len(test_names) == 179 and not train_names & test_names
    assert (
        {name.split("/")[0] for name in train_names}
        == {str(d) for d in range(10)}
        == {name.split("/")[0] for name in test_names}
    )
    with test.files.get(filename="9/digit-0009.png").file.open("rb") as handle:
        image = Image.open(io.BytesIO(handle.read()))
        assert (image.format, image.mode, image.size) == ("PNG", "L", (8, 8))

    files = DatasetFile.objects.count()
    assert lines(run_command("seed_demo_data")) == [
        f"digits v1: unchanged (pk {digits.pk})",
        f"digits-test v1: unchanged (pk {test.pk})",
    ]
    assert DatasetFile.objects.count() == files and Dataset.objects.count() == 2

    # Interrupted part-way: the next run adds what is missing, and only that.
    for filename in ("0/digit-0000.png", "5/digit-0015.png"):
        dataset_file_delete(dataset=digits, filename=filename)
    assert lines(run_command("seed_demo_data"))[0] == f"digits v1: completed (pk {digits.pk}, 2 of 1618 images added)"
    assert digits.files.count() == 1618

    # Deleted by an admin: seeding at the next start must not bring it back.
    dataset_soft_delete(dataset=test)
    assert lines(run_command("seed_demo_data"))[1] == "digits-test v1: deleted, left alone (reinstate it to use it)"
    assert Dataset.objects.filter(name="digits-test").count() == 1


def test_datasets_of_those_names_that_are_not_the_demo_are_left_alone(seeded_catalogue, media, user):
    # A user's personal "digits v1" is not the demo (which belongs to nobody): both exist side by side.
    mine = [DatasetFactory(name=name, creator=user, files={"mine.png": b"x"}) for name in ("digits", "digits-test")]
    assert [line.split(" (")[0] for line in lines(run_command("seed_demo_data"))] == [
        "digits v1: created",
        "digits-test v1: created",
    ]
    for dataset in mine:
        assert list(dataset.files.values_list("filename", flat=True)) == ["mine.png"]
    # The demo's own dataset holding a file that is not the demo's is left alone.
    demo = Dataset.objects.get(name="digits", creator=None)
    dataset_file_upload(dataset=demo, filename="other.png", content=ContentFile(b"x"))
    assert (
        lines(run_command("seed_demo_data"))[0] == "digits v1: exists with other files, left alone (not the demo data)"
    )


def test_needs_the_catalogue(db):
    with pytest.raises(CommandError, match="run manage.py seed_catalogue first"):
        run_command("seed_demo_data")
