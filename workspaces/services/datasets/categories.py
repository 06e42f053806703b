"""Classification categories (image and spectrum datasets): read, set, add and remove, as UFDL's
``CategoriesFile`` (``{file: [label, …]}``) and ``CategoriesModSpec`` (``{method, images, categories}``).

Every change is checked whole first (unknown files and bad labels all reported at once) and then made
in one transaction: nothing is half-applied. Labels keep the order they were added in.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.db import transaction

from config.errors import InvalidRequest, Problem
from workspaces.models import Category, Dataset, DatasetFile
from workspaces.models.annotations import CATEGORY_MAX_LENGTH
from workspaces.selectors import batched, dataset_files_named
from workspaces.services.datasets.files import ensure_active

CategoriesFile = dict[str, list[str]]


def label_problems(label: object, path: str) -> list[Problem]:
    if not isinstance(label, str) or not label.strip():
        return [Problem(path=path, code="invalid_label", message="a category is a non-empty string")]
    if len(label) > CATEGORY_MAX_LENGTH:
        return [Problem(path=path, code="invalid_label", message=f"at most {CATEGORY_MAX_LENGTH} characters")]
    if any(ord(char) < 32 or ord(char) == 127 or 0xD800 <= ord(char) <= 0xDFFF for char in label):
        return [Problem(path=path, code="invalid_label", message="a category may not contain control characters")]
    return []


def dataset_categories(*, dataset: Dataset, filenames: Sequence[str] | None = None) -> CategoriesFile:
    """``{file: [labels]}`` of the files that have categories (of ``filenames`` only, when given), by name."""
    rows = Category.objects.filter(file__dataset=dataset).order_by("file__filename", "pk")
    if filenames is None:
        pairs = list(rows.values_list("file__filename", "label"))
    else:
        pairs = [
            pair
            for batch in batched(filenames)
            for pair in rows.filter(file__filename__in=batch).values_list("file__filename", "label")
        ]
    categories: CategoriesFile = {}
    for filename, label in pairs:
        categories.setdefault(filename, []).append(label)
    return dict(sorted(categories.items()))


def _files_named(dataset: Dataset, names: Sequence[str], path: str) -> dict[str, DatasetFile]:
    """The dataset's files called ``names``; every unknown one is a problem naming its place in ``path``."""
    found = dataset_files_named(dataset=dataset, filenames=names)
    problems = [
        Problem(
            path=f"{path}[{index}]" if path else name,
            code="not_found",
            message=f"the dataset has no file {name[:200]!r}",
        )
        for index, name in enumerate(names)
        if name not in found
    ]
    if problems:
        raise InvalidRequest(f"{len(problems)} of the files are not in {dataset}.", problems=problems)
    return found


def _labels_of(files) -> set[tuple[int, str]]:
    """The (file pk, label) pairs ``files`` have."""
    return {
        pair
        for batch in batched(row.pk for row in files)
        for pair in Category.objects.filter(file_id__in=batch).values_list("file_id", "label")
    }


@transaction.atomic
def dataset_categories_add(*, dataset: Dataset, images: Sequence[str], categories: Sequence[str]) -> CategoriesFile:
    """Give each of ``images`` each of ``categories``; answers what was added (``{file: [new labels]}``)."""
    ensure_active(dataset)
    files = _files_named(dataset, images, "images")
    have = _labels_of(files.values())
    added: CategoriesFile = {}
    new = []
    for name in images:
        for label in categories:
            if (files[name].pk, label) not in have:
                have.add((files[name].pk, label))
                new.append(Category(file=files[name], label=label))
                added.setdefault(name, []).append(label)
    Category.objects.bulk_create(new)
    return added


@transaction.atomic
def dataset_categories_remove(*, dataset: Dataset, images: Sequence[str], categories: Sequence[str]) -> CategoriesFile:
    """Take each of ``categories`` from each of ``images``; answers what was removed."""
    ensure_active(dataset)
    files = _files_named(dataset, images, "images")
    name_of = {row.pk: name for name, row in files.items()}
    removed: CategoriesFile = {}
    for batch in batched(name_of):
        rows = Category.objects.filter(file_id__in=batch, label__in=list(categories))
        for file_id, label in rows.order_by("file__filename", "pk").values_list("file_id", "label"):
            removed.setdefault(name_of[file_id], []).append(label)
        rows.delete()
    return dict(sorted(removed.items()))


@transaction.atomic
def dataset_categories_set(*, dataset: Dataset, categories: Mapping[str, Sequence[str]]) -> CategoriesFile:
    """Replace the categories of each file named in ``categories`` (an empty list clears a file's); files
    not named keep theirs. Answers the categories of the files named, as now stored."""
    ensure_active(dataset)
    names = list(categories)
    files = _files_named(dataset, names, "")
    for batch in batched(row.pk for row in files.values()):
        Category.objects.filter(file_id__in=batch).delete()
    Category.objects.bulk_create(
        Category(file=files[name], label=label) for name in names for label in dict.fromkeys(categories[name])
    )
    return {name: list(dict.fromkeys(categories[name])) for name in names}
