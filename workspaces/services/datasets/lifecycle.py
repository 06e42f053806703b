"""Dataset actions: create, update, soft/hard delete, reinstate, copy, merge and clear.

Identity is ``(name, version)`` within a project (within the creator's personal datasets when there is
no project), unique among active datasets; without a version, create takes the next one of that name
there. Copies and merges carry every file's bytes, metadata and annotations.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max, Q

from config.errors import Conflict, InvalidRequest, PermissionDenied, Problem
from config.softdelete import hard_delete, reinstate, soft_delete
from contracts.models import Domain
from workspaces.models import NO_PREVIOUS_VERSION, Dataset, DatasetFile, Project
from workspaces.selectors import dataset_can_change, dataset_files_named, is_admin
from workspaces.services.datasets.access import check_project_for_datasets
from workspaces.services.datasets.annotations import annotation_kinds
from workspaces.services.datasets.files import dataset_files_copy, delete_stored_after_commit, ensure_active


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()

# --- references that block a hard delete ------------------------------------------------------------

DatasetReferenceCheck = Callable[[Dataset], Iterable[str]]
_reference_checks: list[DatasetReferenceCheck] = []


def dataset_reference_check_register(check: DatasetReferenceCheck) -> DatasetReferenceCheck:
    """Register ``check(dataset) -> descriptions of what references it`` (e.g. jobs whose inputs name
    the dataset by pk, which no foreign key sees). A hard delete is refused while any check reports."""
    if check not in _reference_checks:
        _reference_checks.append(check)
    return check


def dataset_reference_check_unregister(check: DatasetReferenceCheck) -> None:
    if check in _reference_checks:
        _reference_checks.remove(check)


def dataset_references(*, dataset: Dataset) -> list[str]:
    """What (outside foreign keys) still references ``dataset``, per the registered checks."""
    return [reference for check in _reference_checks for reference in check(dataset)]


# --- identity --------------------------------------------------------------------------------------------


def _scope(*, project: Project | None, creator: Any) -> Q:
    """The datasets a name and version must be unique among: the project's, or the creator's personal."""
    if project is not None:
        return Q(project=project)
    return Q(project__isnull=True, creator_id=getattr(creator, "pk", None))


def _duplicate(name: str, version: int) -> Conflict:
    return Conflict(
        f"An active dataset {name!r} version {version} already exists here.",
        code="duplicate",
        problems=[Problem(path="version", code="duplicate", message=f"{name} v{version} exists")],
    )


def dataset_next_version(*, name: str, project: Project | None = None, creator: Any = None) -> int:
    """One more than the highest version of ``name`` in its scope, soft-deleted ones included (so they can
    still be reinstated without a clash), or 1."""
    highest = Dataset.objects.filter(_scope(project=project, creator=creator), name=name).aggregate(
        highest=Max("version")
    )["highest"]
    return (highest or 0) + 1


def _create_row(*, version: int | None, fields: dict[str, Any]) -> Dataset:
    """Insert a dataset; an automatic version can lose a race with a concurrent create: take the next
    one and retry. A clash with an active ``name`` + ``version`` is a 409."""
    scope = _scope(project=fields["project"], creator=fields["creator"])
    attempts = 1 if version is not None else 3
    for attempt in range(attempts):
        chosen = (
            version
            if version is not None
            else dataset_next_version(name=fields["name"], project=fields["project"], creator=fields["creator"])
        )
        if Dataset.objects.active().filter(scope, name=fields["name"], version=chosen).exists():
            raise _duplicate(fields["name"], chosen)
        try:
            with transaction.atomic():
                return Dataset.objects.create(version=chosen, **fields)
        except IntegrityError:
            if attempt == attempts - 1:
                raise _duplicate(fields["name"], chosen) from None
    raise AssertionError("unreachable")


# --- lifecycle ---------------------------------------------------------------------------------------------


def dataset_create(
    *,
    creator: Any,
    name: str,
    licence: Any,
    domain: Domain | None = None,
    version: int | None = None,
    description: str = "",
    project: Project | None = None,
    is_public: bool = False,
    tags: str = "",
    previous_version: int = NO_PREVIOUS_VERSION,
) -> Dataset:
    """Create a dataset owned by ``creator`` in ``project`` (W or A in its team; none: a personal
    dataset); no version means the next one of that name there."""
    check_project_for_datasets(user=creator, project=project)
    return _create_row(
        version=version,
        fields={
            "name": name,
            "description": description,
            "domain": domain,
            "licence": licence,
            "project": project,
            "is_public": is_public,
            "tags": tags,
            "creator": creator if getattr(creator, "pk", None) else None,
            "previous_version": previous_version,
        },
    )


def dataset_update(
    *,
    dataset: Dataset,
    user: Any,
    name: str = UNSET,
    version: int = UNSET,
    description: str = UNSET,
    licence: Any = UNSET,
    project: Project | None = UNSET,
    is_public: bool = UNSET,
    tags: str = UNSET,
) -> Dataset:
    """Change the given fields of an active dataset (unset ones stay as they are); moving it to another
    project takes W or A there too."""
    ensure_active(dataset)
    changes = {
        key: value
        for key, value in {
            "name": name,
            "version": version,
            "description": description,
            "licence": licence,
            "project": project,
            "is_public": is_public,
            "tags": tags,
        }.items()
        if value is not UNSET
    }
    if "project" in changes and changes["project"] != dataset.project:
        check_project_for_datasets(user=user, project=changes["project"])
    for key, value in changes.items():
        setattr(dataset, key, value)
    if {"name", "version", "project"} & set(changes):
        clash = Dataset.objects.active().filter(
            _scope(project=dataset.project, creator=dataset.creator), name=dataset.name, version=dataset.version
        )
        if clash.exclude(pk=dataset.pk).exists():
            raise _duplicate(dataset.name, dataset.version)
    try:
        with transaction.atomic():
            dataset.save(update_fields=list(changes) or None)
    except IntegrityError:
        raise _duplicate(dataset.name, dataset.version) from None
    return dataset


def dataset_soft_delete(*, dataset: Dataset) -> Dataset:
    """Hide the dataset from lists; its files stay until a hard delete."""
    return soft_delete(instance=dataset)


def dataset_reinstate(*, dataset: Dataset) -> Dataset:
    """Undo a soft delete; 409 when an active dataset has the same name and version there, or while the
    dataset's project is deleted (reinstate the project, which brings its datasets back)."""
    if dataset.deletion_time is None:
        return dataset
    project = dataset.project if dataset.project_id is not None else None  # (no query without one)
    if project is not None and project.deletion_time is not None:
        raise Conflict(
            f"The project of {dataset} is deleted; reinstate the project.",
            code="project_deleted",
            problems=[Problem(path="project", code="project_deleted", message="the project is soft-deleted")],
        )
    clash = Dataset.objects.active().filter(
        _scope(project=dataset.project, creator=dataset.creator), name=dataset.name, version=dataset.version
    )
    if clash.exclude(pk=dataset.pk).exists():
        raise _duplicate(dataset.name, dataset.version)
    return reinstate(instance=dataset)


def dataset_hard_delete(*, dataset: Dataset) -> None:
    """Delete the dataset and its files for good; 409 (nothing removed) while anything references it."""
    references = dataset_references(dataset=dataset)
    if references:
        raise Conflict(
            f"{dataset} is still referenced and cannot be deleted.",
            code="referenced",
            problems=[Problem(path="", code="referenced", message=f"referenced by {ref}") for ref in references],
        )
    storage_names = list(DatasetFile.objects.filter(dataset=dataset).values_list("file", flat=True))
    with transaction.atomic():
        hard_delete(instance=dataset)
        delete_stored_after_commit(storage_names)


# --- copy, merge, clear ------------------------------------------------------------------------------------


def _merge_annotations(*, source: Dataset, target: Dataset, pairs) -> None:
    for kind in annotation_kinds():
        kind.merge(source=source, target=target, pairs=pairs)


def dataset_copy(
    *,
    dataset: Dataset,
    user: Any,
    new_name: str | None = None,
    only_files: Sequence[str] | None = None,
    project: Project | None = UNSET,
) -> Dataset:
    """A copy of ``dataset`` (its files, metadata and annotations) owned by ``user``: the next version of
    the same name with ``previous_version`` set, or ``new_name`` (its next free version). It goes into
    the same project unless ``project`` says otherwise; either way that takes W or A there. Nothing is
    left behind if a file cannot be copied."""
    target_project = dataset.project if project is UNSET else project
    names = list(dict.fromkeys(only_files)) if only_files is not None else None
    files = list(DatasetFile.objects.filter(dataset=dataset).order_by("filename"))
    if names is not None:
        found = set(dataset_files_named(dataset=dataset, filenames=names))
        missing = [
            Problem(path=f"only_files[{index}]", code="not_found", message=f"no file {name[:200]!r}")
            for index, name in enumerate(names)
            if name not in found
        ]
        if missing:
            raise InvalidRequest(f"{dataset} lacks {len(missing)} of the files to copy.", problems=missing)
        files = [datafile for datafile in files if datafile.filename in found]
    copy = dataset_create(
        creator=user,
        name=new_name or dataset.name,
        licence=dataset.licence,
        domain=dataset.domain,
        description=dataset.description,
        project=target_project,
        is_public=dataset.is_public,
        tags=dataset.tags,
        previous_version=dataset.version if new_name is None else NO_PREVIOUS_VERSION,
    )
    try:
        dataset_files_copy(
            pairs=[(datafile, copy, datafile.filename) for datafile in files],
            then=lambda pairs: _merge_annotations(source=dataset, target=copy, pairs=pairs),
        )
    except BaseException:
        dataset_hard_delete(dataset=copy)
        raise
    return copy


def _free_name(filename: str, taken: set[str]) -> str:
    """``filename`` with ``_<n>`` before its extension, for the first n not taken (``a/b.png`` → ``a/b_1.png``)."""
    folder, base = posixpath.split(filename)
    stem, dot, extension = base.partition(".") if not base.startswith(".") else (base, "", "")
    n = 1
    while True:
        candidate = posixpath.join(folder, f"{stem}_{n}{dot}{extension}")
        if candidate not in taken:
            return candidate
        n += 1


def dataset_merge(*, target: Dataset, source: Dataset, user: Any, delete: bool = False, hard: bool = False) -> Dataset:
    """Merge ``source`` into ``target`` (both of one domain): files ``target`` lacks are copied; a file of
    the same name and content is shared (its annotations merged); one of the same name but other content
    is copied under a free name (``name_1.ext``). Then ``delete`` soft-deletes the source, or hard-deletes
    it with ``hard`` (administrators only, as ``/hard`` is)."""
    ensure_active(target)
    ensure_active(source)
    if target.pk == source.pk:
        raise InvalidRequest(
            problems=[Problem(path="other", code="same_dataset", message="a dataset cannot merge itself")]
        )
    if target.domain_id != source.domain_id:
        raise InvalidRequest(
            f"{source} and {target} are of different domains.",
            problems=[Problem(path="other", code="domain_mismatch", message="datasets of one domain only")],
        )
    if delete and not dataset_can_change(user=user, dataset=source):
        raise PermissionDenied(
            f"Deleting {source} after the merge takes W or A in its project.",
            problems=[Problem(path="delete", code="permission_denied", message="you may not delete the source")],
        )
    if delete and hard and not is_admin(user):
        raise PermissionDenied(
            "Only administrators delete datasets for good.",
            problems=[Problem(path="hard", code="permission_denied", message="administrators only")],
        )
    existing = {row.filename: row for row in DatasetFile.objects.filter(dataset=target)}
    taken = set(existing)
    to_copy = []
    shared = []
    for datafile in DatasetFile.objects.filter(dataset=source).order_by("filename"):
        mine = existing.get(datafile.filename)
        if mine is None:
            to_copy.append((datafile, target, datafile.filename))
            taken.add(datafile.filename)
        elif mine.handle and mine.handle == datafile.handle:
            shared.append((datafile, mine))
        else:
            name = _free_name(datafile.filename, taken)
            taken.add(name)
            to_copy.append((datafile, target, name))
    dataset_files_copy(
        pairs=to_copy,
        then=lambda pairs: _merge_annotations(source=source, target=target, pairs=[*shared, *pairs]),
    )
    if delete:
        if hard:
            dataset_hard_delete(dataset=source)
        else:
            dataset_soft_delete(dataset=source)
    return target


@transaction.atomic
def dataset_clear(*, dataset: Dataset) -> Dataset:
    """Clear every file's metadata and every annotation (categories, transcriptions, …); files stay."""
    ensure_active(dataset)
    DatasetFile.objects.filter(dataset=dataset).exclude(metadata="").update(metadata="")
    for kind in annotation_kinds():
        kind.clear(dataset=dataset)
    return dataset
