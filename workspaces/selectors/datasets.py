"""Reads of datasets: who may see and change one, and querysets with the joins their representations need.

A dataset is visible to every user when public; else to the members of its project's team (any level)
or, for a personal dataset (no project), to its creator; admins see all. Changing it takes W or A in the
project's team (the creator, for a personal dataset).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from django.db.models import Prefetch, Q, QuerySet

from config.errors import NotFound, Problem
from workspaces.models import Category, Dataset, DatasetFile, Permission, permission_at_least
from workspaces.selectors.teams import is_admin, member_project_ids, project_permission


def dataset_visibility_filter(user) -> Q | None:
    """The condition a dataset meets to be visible to ``user``; ``None`` means every dataset (admins)."""
    if is_admin(user):
        return None
    if user is None or not user.is_authenticated:
        return Q(pk__in=[])
    return Q(is_public=True) | Q(project__in=member_project_ids(user)) | Q(project__isnull=True, creator_id=user.pk)


def datasets_visible(datasets: QuerySet, user) -> QuerySet:
    """``datasets`` narrowed to those ``user`` may see."""
    condition = dataset_visibility_filter(user)
    return datasets if condition is None else datasets.filter(condition)


def dataset_list(
    *, domain_name: str | None = None, categories: bool = False, transcriptions: bool = False
) -> QuerySet[Dataset]:
    """Datasets (of the domain named ``domain_name``, e.g. ``ic``, when given) with what their
    representation shows: files and their handles, and a domain route's annotations (categories,
    transcriptions), in a constant number of queries."""
    datasets = Dataset.objects.select_related("domain")
    if domain_name is not None:
        datasets = datasets.filter(domain__name=domain_name)
    files = DatasetFile.objects.only("pk", "dataset_id", "filename", "handle").order_by("filename")
    if categories:
        files = files.prefetch_related(Prefetch("categories", queryset=Category.objects.order_by("pk")))
    if transcriptions:
        files = files.prefetch_related("transcription")
    return datasets.prefetch_related(Prefetch("files", queryset=files)).order_by("pk")


def dataset_visible_to(
    user, *, domain_name: str | None = None, categories: bool = False, transcriptions: bool = False
) -> QuerySet[Dataset]:
    """Datasets ``user`` may see (soft-deleted ones included), ready to represent."""
    return datasets_visible(
        dataset_list(domain_name=domain_name, categories=categories, transcriptions=transcriptions), user
    )


def dataset_can_change(*, user, dataset: Dataset) -> bool:
    """Whether ``user`` may change ``dataset`` (its fields, files, metadata and annotations)."""
    if is_admin(user):
        return True
    if user is None or not user.is_authenticated:
        return False
    project = dataset.project if dataset.project_id is not None else None  # (no query without one)
    if project is None:
        return dataset.creator_id == user.pk
    return permission_at_least(project_permission(user=user, project=project), Permission.WRITE)


# Rows looked up by a list of names or pks, this many at a time: SQLite refuses a statement with more than
# 32,766 parameters, and a dataset may hold 100,000 files.
LOOKUP_BATCH = 500


def batched(items: Iterable, size: int = LOOKUP_BATCH) -> Iterator[list]:
    """``items`` in lists of at most ``size``."""
    batch: list = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def dataset_files_named(*, dataset: Dataset, filenames: Iterable[str]) -> dict[str, DatasetFile]:
    """The files of ``dataset`` called one of ``filenames`` (the others are absent from the answer), by name,
    in a number of queries that grows with the names asked for, never a statement too large."""
    found: dict[str, DatasetFile] = {}
    for batch in batched(dict.fromkeys(filenames)):
        found.update((row.filename, row) for row in DatasetFile.objects.filter(dataset=dataset, filename__in=batch))
    return found


def dataset_file_get(*, dataset: Dataset, filename: str) -> DatasetFile:
    """The file ``filename`` of ``dataset``, or a 404."""
    datafile = DatasetFile.objects.filter(dataset=dataset, filename=filename).first()
    if datafile is None:
        raise NotFound(
            f"{dataset} has no file {filename[:200]!r}.",
            problems=[Problem(path="filename", code="not_found", message=f"no file {filename[:200]!r}")],
        )
    return datafile
