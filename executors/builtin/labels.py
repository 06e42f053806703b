"""Which class each image of a dataset has, for the built-in executors: its category when the dataset has
categories, else the folder holding it (UFDL's ``<class>/<image>`` layout).

The rules (the executors' log and metrics report what each left out):

* A dataset with categories on any of its files is labelled by its categories alone; folders are then
  ignored, so a dataset whose categories and folders disagree is labelled as its categories say.
* An image with exactly one category has that label. One with several has none: these classifiers
  predict one label per image, and picking one of several would train on (or score against) a guess.
* An image without a category, in a dataset where other files have one, has no label either (its
  folder is not consulted: mixing two sources would let a stray folder name become a class).
* A dataset without any category is labelled by folders; an image at the top level has no label.

Pure functions (no Django): the executors call them, the tests call them directly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from executors.builtin.images import label_of

CATEGORIES = "categories"
FOLDERS = "folders"


@dataclass(frozen=True)
class Labelling:
    """The label of each image that has exactly one, where they came from, and the images left without."""

    source: str  # CATEGORIES or FOLDERS
    labels: dict[str, str]  # filename → label, for the images that have exactly one
    unlabelled: list[str] = field(default_factory=list)  # no category (or, by folders, at the top level)
    several: list[str] = field(default_factory=list)  # more than one category

    def label(self, filename: str) -> str | None:
        return self.labels.get(filename)


def image_labels(filenames: Sequence[str], categories: Mapping[str, Sequence[str]]) -> Labelling:
    """The labels of ``filenames`` (images of one dataset) given that dataset's ``categories``
    (``{filename: [label, …]}`` of the files that have any; empty when the dataset has none)."""
    if not categories:
        by_folder = {name: label_of(name) for name in filenames}
        return Labelling(
            source=FOLDERS,
            labels={name: label for name, label in by_folder.items() if label is not None},
            unlabelled=[name for name, label in by_folder.items() if label is None],
        )
    labels: dict[str, str] = {}
    unlabelled: list[str] = []
    several: list[str] = []
    for name in filenames:
        given = categories.get(name, ())
        if len(given) == 1:
            labels[name] = given[0]
        elif given:
            several.append(name)
        else:
            unlabelled.append(name)
    return Labelling(source=CATEGORIES, labels=labels, unlabelled=unlabelled, several=several)


def examples(names: Sequence[str], *, at_most: int = 3) -> str:
    """A few of ``names`` for a log line (``a.png, b.png, c.png and 7 more``)."""
    shown = ", ".join(names[:at_most])
    return shown if len(names) <= at_most else f"{shown} and {len(names) - at_most} more"
