"""The demo datasets: scikit-learn's bundled digits as PNG images, one folder per digit, in two splits,
each image also labelled with its digit as its category (what UFDL's image-classification clients read).

``digits`` (public, for training) holds nine images in ten; ``digits-test`` (public, for predicting)
holds every tenth image, so a model trained on the first is measured on images it never saw. The
images come with scikit-learn (no download): the UCI "Optical Recognition of Handwritten Digits" data,
licensed CC BY 4.0.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from django.core.files.base import ContentFile
from PIL import Image

from contracts.models import Domain, Licence
from workspaces.models import Dataset, DatasetFile
from workspaces.services.datasets import (
    dataset_categories,
    dataset_categories_set,
    dataset_create,
    dataset_file_upload,
)

DOMAIN = "ic"
LICENCE = "CC-BY-4.0"
VERSION = 1
TEST_EVERY = 10  # image i goes to the test split when i % TEST_EVERY == TEST_EVERY - 1
SOURCE = (
    "Source: the UCI ML 'Optical Recognition of Handwritten Digits' data set as bundled with scikit-learn "
    "(sklearn.datasets.load_digits), CC BY 4.0. Each image is 8x8 pixels, grayscale, white on black, "
    "named <digit>/digit-<index>.png (index in load_digits' order)."
)


class DemoDataUnavailable(Exception):
    """The catalogue rows the demo data needs are missing."""


@dataclass(frozen=True)
class DemoDataset:
    name: str
    description: str
    test_split: bool

    def indices(self, count: int) -> list[int]:
        return [i for i in range(count) if (i % TEST_EVERY == TEST_EVERY - 1) == self.test_split]


DEMO_DATASETS = (
    DemoDataset(
        "digits",
        f"Handwritten digits 0-9 for training: nine images in ten of scikit-learn's digits "
        f"(every tenth is in digits-test). {SOURCE}",
        test_split=False,
    ),
    DemoDataset(
        "digits-test",
        f"Handwritten digits 0-9 for predicting: every tenth image of scikit-learn's "
        f"digits, none of which is in digits. {SOURCE}",
        test_split=True,
    ),
)


def digit_png(pixels: np.ndarray) -> bytes:
    """An 8x8 digit (values 0-16, as load_digits gives them) as a grayscale PNG (values 0-255)."""
    image = Image.fromarray(np.rint(pixels * (255 / 16)).astype(np.uint8))  # 2-D uint8: mode L
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def digit_files(demo: DemoDataset) -> Iterator[tuple[str, bytes]]:
    """(filename, PNG bytes) of every image of ``demo``, in index order."""
    from sklearn.datasets import load_digits  # imported here: only seeding needs it

    digits = load_digits()
    for index in demo.indices(len(digits.target)):
        yield f"{digits.target[index]}/digit-{index:04d}.png", digit_png(digits.images[index])


def demo_data_seed() -> list[str]:
    """Create the demo datasets that do not exist yet (finishing one whose seeding was interrupted);
    one line per dataset says what happened. Running it again changes nothing."""
    try:
        domain, licence = Domain.objects.get(name=DOMAIN), Licence.objects.get(name=LICENCE)
    except (Domain.DoesNotExist, Licence.DoesNotExist) as error:
        raise DemoDataUnavailable(
            f"the catalogue lacks domain {DOMAIN!r} or licence {LICENCE!r}: run manage.py seed_catalogue first"
        ) from error
    return [_seed(demo, domain, licence) for demo in DEMO_DATASETS]


def _seed(demo: DemoDataset, domain: Domain, licence: Licence) -> str:
    label = f"{demo.name} v{VERSION}"
    dataset = (
        Dataset.objects.filter(name=demo.name, version=VERSION, project__isnull=True, creator__isnull=True)
        .order_by("deletion_time")
        .first()
    )
    if dataset is not None and dataset.deletion_time is not None:
        # An admin removed it on purpose; seeding at every start must not bring it back.
        return f"{label}: deleted, left alone (reinstate it to use it)"
    created = dataset is None
    if dataset is None:
        # No creator: the demo data belongs to nobody and needs no admin to exist.
        dataset = dataset_create(
            creator=None,
            name=demo.name,
            version=VERSION,
            domain=domain,
            licence=licence,
            description=demo.description,
            is_public=True,
        )
    files = dict(digit_files(demo))
    existing = set(DatasetFile.objects.filter(dataset=dataset).values_list("filename", flat=True))
    if not existing <= set(files):
        return f"{label}: exists with other files, left alone (not the demo data)"
    missing = [name for name in files if name not in existing]
    for name in missing:
        dataset_file_upload(dataset=dataset, filename=name, content=ContentFile(files[name]))
    labelled = dataset_categories(dataset=dataset)
    unlabelled = {name: [name.split("/", 1)[0]] for name in files if name not in labelled}
    if unlabelled:
        dataset_categories_set(dataset=dataset, categories=unlabelled)
    if created:
        return f"{label}: created (pk {dataset.pk}, {len(files)} images)"
    if missing:
        return f"{label}: completed (pk {dataset.pk}, {len(missing)} of {len(files)} images added)"
    return f"{label}: unchanged (pk {dataset.pk})"
