"""Dataset actions: create, update, soft/hard delete, reinstate, and the files of a dataset.

Identity is ``(name, version)``, unique among active datasets. Files are stored through Django's
storage API under ``datasets/<pk>/<relative name>``; a file's relative name may contain ``/``
(UFDL's sub-folder layout) but never escapes its dataset's folder. Storage is written before the
row that points at it and replaced or removed files are deleted only after the transaction commits,
so a failure never leaves a row pointing at nothing.
"""

from __future__ import annotations

import posixpath
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from typing import IO, Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, Group
from django.core.exceptions import SuspiciousFileOperation
from django.core.files import File
from django.db import IntegrityError, transaction
from django.db.models import Max, Q

from config.errors import ApplicationError, Conflict, InvalidRequest, Problem
from config.softdelete import hard_delete, reinstate, soft_delete
from contracts.models import Dataset, DatasetFile, Domain, Licence
from contracts.selectors import dataset_file_get

FILENAME_MAX_LENGTH = DatasetFile._meta.get_field("filename").max_length
COMPONENT_MAX_BYTES = 255  # the usual file-system limit of one path component
ARCHIVE_CHUNK_BYTES = 1024 * 1024


class DatasetFileTooLarge(ApplicationError):
    code = "file_too_large"
    status_code = 413
    default_detail = "The file is larger than this server accepts."


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


# --- checks ------------------------------------------------------------------------------------------


def dataset_filename_check(filename: str, *, path: str = "filename") -> str:
    """``filename`` if it is a safe relative name, else a 422 saying why.

    Allowed: ``/``-separated components, none empty, ``.`` or ``..``, none longer than 255 bytes;
    no leading ``/``, no backslash, no control characters, at most ``FILENAME_MAX_LENGTH`` characters.
    """
    problems = []

    def problem(message: str) -> None:
        problems.append(Problem(path=path, code="invalid_filename", message=message))

    if not filename:
        problem("a file name is required")
    elif len(filename) > FILENAME_MAX_LENGTH:
        problem(f"a file name has at most {FILENAME_MAX_LENGTH} characters")
    elif "\\" in filename:
        problem("a file name may not contain a backslash; use '/' between folders")
    elif any(ord(char) < 32 or ord(char) == 127 for char in filename):
        problem("a file name may not contain control characters")
    elif filename.startswith("/"):
        problem("a file name must be relative (no leading '/')")
    else:
        components = filename.split("/")
        if any(component == "" for component in components):
            problem("a file name may not have empty components ('//' or a trailing '/')")
        elif any(component in (".", "..") for component in components):
            problem("a file name may not contain '.' or '..' components")
        elif any(len(component.encode("utf-8")) > COMPONENT_MAX_BYTES for component in components):
            problem(f"each part of a file name has at most {COMPONENT_MAX_BYTES} bytes")
    if problems:
        raise InvalidRequest(f"Invalid file name {filename[:100]!r}.", problems=problems)
    return filename


def _ensure_active(dataset: Dataset) -> None:
    if dataset.deletion_time is not None:
        raise Conflict(
            f"{dataset} is deleted; reinstate it first.",
            code="dataset_deleted",
            problems=[Problem(path="", code="dataset_deleted", message=f"{dataset} is soft-deleted")],
        )


def _check_project(user: AbstractBaseUser, project: Group | None) -> None:
    """Non-admins may only put a dataset into a project (group) they are a member of."""
    if project is None or getattr(user, "is_staff", False):
        return
    if not user.groups.filter(pk=project.pk).exists():
        raise InvalidRequest(
            problems=[Problem(path="project", code="not_a_member", message=f"you are not a member of {project.name!r}")]
        )


def _duplicate(name: str, version: int) -> Conflict:
    return Conflict(
        f"An active dataset {name!r} version {version} already exists.",
        code="duplicate",
        problems=[Problem(path="version", code="duplicate", message=f"{name} v{version} exists")],
    )


def dataset_next_version(*, name: str) -> int:
    """One more than the highest version of ``name``, soft-deleted ones included (so they can still be
    reinstated without a clash), or 1."""
    highest = Dataset.objects.filter(name=name).aggregate(highest=Max("version"))["highest"]
    return (highest or 0) + 1


# --- lifecycle ---------------------------------------------------------------------------------------


def dataset_create(
    *,
    creator: AbstractBaseUser,
    name: str,
    domain: Domain,
    licence: Licence,
    version: int | None = None,
    description: str = "",
    project: Group | None = None,
    is_public: bool = False,
) -> Dataset:
    """Create a dataset owned by ``creator``; no version means the next one of that name.
    A clash with an active ``name`` + ``version`` is a 409."""
    _check_project(creator, project)
    fields = {
        "name": name,
        "description": description,
        "domain": domain,
        "licence": licence,
        "project": project,
        "is_public": is_public,
        "creator": creator,
    }
    # An automatic version can lose a race with a concurrent create: take the next one and retry.
    attempts = 1 if version is not None else 3
    for attempt in range(attempts):
        chosen = version if version is not None else dataset_next_version(name=name)
        if Dataset.objects.active().filter(name=name, version=chosen).exists():
            raise _duplicate(name, chosen)
        try:
            with transaction.atomic():
                return Dataset.objects.create(version=chosen, **fields)
        except IntegrityError:
            if attempt == attempts - 1:
                raise _duplicate(name, chosen) from None
    raise AssertionError("unreachable")


def dataset_update(
    *,
    dataset: Dataset,
    user: AbstractBaseUser,
    name: str = UNSET,
    version: int = UNSET,
    description: str = UNSET,
    domain: Domain = UNSET,
    licence: Licence = UNSET,
    project: Group | None = UNSET,
    is_public: bool = UNSET,
) -> Dataset:
    """Change the given fields of an active dataset (unset ones stay as they are)."""
    _ensure_active(dataset)
    changes = {
        key: value
        for key, value in {
            "name": name,
            "version": version,
            "description": description,
            "domain": domain,
            "licence": licence,
            "project": project,
            "is_public": is_public,
        }.items()
        if value is not UNSET
    }
    if "project" in changes and changes["project"] != dataset.project:
        _check_project(user, changes["project"])
    for key, value in changes.items():
        setattr(dataset, key, value)
    if {"name", "version"} & set(changes):
        clash = Dataset.objects.active().filter(name=dataset.name, version=dataset.version).exclude(pk=dataset.pk)
        if clash.exists():
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
    """Undo a soft delete; 409 when an active dataset has the same name and version."""
    if dataset.deletion_time is not None and (
        Dataset.objects.active().filter(name=dataset.name, version=dataset.version).exclude(pk=dataset.pk).exists()
    ):
        raise _duplicate(dataset.name, dataset.version)
    return reinstate(instance=dataset)


def dataset_references(*, dataset: Dataset) -> list[str]:
    """What (outside foreign keys) still references ``dataset``, per the registered checks."""
    return [reference for check in _reference_checks for reference in check(dataset)]


def dataset_hard_delete(*, dataset: Dataset) -> None:
    """Delete the dataset and its files for good; 409 (nothing removed) while anything references it."""
    references = dataset_references(dataset=dataset)
    if references:
        raise Conflict(
            f"{dataset} is still referenced and cannot be deleted.",
            code="referenced",
            problems=[Problem(path="", code="referenced", message=f"referenced by {ref}") for ref in references],
        )
    storage_names = [name for name in DatasetFile.objects.filter(dataset=dataset).values_list("file", flat=True)]
    with transaction.atomic():
        hard_delete(instance=dataset)
        transaction.on_commit(lambda: _delete_stored(storage_names))


# --- files -------------------------------------------------------------------------------------------


def _storage():
    return DatasetFile._meta.get_field("file").storage


def _delete_stored(storage_names: Iterable[str]) -> None:
    storage = _storage()
    for name in storage_names:
        if name:
            storage.delete(name)


def _check_folder_clash(dataset: Dataset, filename: str) -> None:
    """A name may not be both a file and a folder (``a`` and ``a/b``): archives could not hold both."""
    components = filename.split("/")
    ancestors = ["/".join(components[:i]) for i in range(1, len(components))]
    clash = (
        DatasetFile.objects.filter(dataset=dataset)
        .filter(Q(filename__in=ancestors) | Q(filename__startswith=filename + "/"))
        .values_list("filename", flat=True)
        .first()
    )
    if clash is not None:
        raise Conflict(
            f"{filename!r} clashes with the existing {clash!r}: a name cannot be both a file and a folder.",
            code="file_folder_clash",
            problems=[Problem(path="filename", code="file_folder_clash", message=f"clashes with {clash!r}")],
        )


def dataset_file_max_bytes() -> int:
    return int(settings.DATASET_FILE_MAX_BYTES)


def dataset_file_too_large(size: int | None = None) -> DatasetFileTooLarge:
    limit = dataset_file_max_bytes()
    got = f" ({size} bytes)" if size is not None else ""
    return DatasetFileTooLarge(
        f"The file{got} is larger than the limit of {limit} bytes.",
        problems=[Problem(path="file", code="file_too_large", message=f"at most {limit} bytes")],
    )


def dataset_file_upload(*, dataset: Dataset, filename: str, content: File) -> DatasetFile:
    """Store ``content`` as the file ``filename`` of ``dataset``, replacing a file of that name."""
    dataset_filename_check(filename)
    _ensure_active(dataset)
    size = content.size
    if size is not None and size > dataset_file_max_bytes():
        raise dataset_file_too_large(size)
    _check_folder_clash(dataset, filename)
    field = DatasetFile._meta.get_field("file")
    try:
        storage_name = field.generate_filename(DatasetFile(dataset=dataset), filename)
    except SuspiciousFileOperation:
        # The storage cannot derive a name from this one (e.g. "@@@"); the row keeps the real name.
        storage_name = field.generate_filename(
            DatasetFile(dataset=dataset), posixpath.join(posixpath.dirname(filename), "file")
        )
    try:
        stored = field.storage.save(storage_name, content, max_length=field.max_length)
    except (FileExistsError, NotADirectoryError) as exc:  # the storage's own layout clashes
        raise Conflict(
            f"{filename!r} cannot be stored beside the dataset's other files.",
            code="file_folder_clash",
            problems=[Problem(path="filename", code="file_folder_clash", message=str(exc))],
        ) from exc
    replaced = None
    try:
        with transaction.atomic():
            datafile, created = DatasetFile.objects.select_for_update().get_or_create(
                dataset=dataset, filename=filename, defaults={"file": stored, "size": size or 0}
            )
            if not created:
                replaced = datafile.file.name
                datafile.file.name = stored
                datafile.size = size or 0
                datafile.save(update_fields=["file", "size"])
            if replaced and replaced != stored:
                transaction.on_commit(lambda: _delete_stored([replaced]))
    except BaseException:
        field.storage.delete(stored)
        raise
    return datafile


def dataset_file_delete(*, dataset: Dataset, filename: str) -> DatasetFile:
    """Remove the file ``filename`` from ``dataset`` (404 when absent); its stored bytes go once the
    change commits. Returns the removed file's row (without a pk)."""
    _ensure_active(dataset)
    datafile = dataset_file_get(dataset=dataset, filename=filename)
    storage_name = datafile.file.name
    with transaction.atomic():
        datafile.delete()
        transaction.on_commit(lambda: _delete_stored([storage_name]))
    return datafile


def dataset_archive(*, dataset: Dataset) -> IO[bytes]:
    """Every file of ``dataset`` in one zip (entries named by their relative names), as a temporary
    file positioned at its start. The files are copied in chunks: nothing is read whole into memory."""
    archive = tempfile.TemporaryFile()
    try:
        with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zip_file:
            for datafile in DatasetFile.objects.filter(dataset=dataset).order_by("filename"):
                info = zipfile.ZipInfo(datafile.filename, date_time=datafile.creation_time.timetuple()[:6])
                info.compress_type = zipfile.ZIP_DEFLATED
                with datafile.file.open("rb") as source, zip_file.open(info, "w", force_zip64=True) as target:
                    shutil.copyfileobj(source, target, ARCHIVE_CHUNK_BYTES)
        archive.seek(0)
    except BaseException:
        archive.close()
        raise
    return archive
