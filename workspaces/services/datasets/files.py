"""The files of a dataset: safe relative names, upload (one or many, all or nothing), removal, metadata,
copies between datasets, and the whole dataset as one archive.

Files are stored through Django's storage API under ``datasets/<pk>/<relative name>``; a name may
contain ``/`` (UFDL's sub-folder layout) but never escapes its dataset's folder. Storage is written
before the row that points at it and replaced or removed files are deleted only after the transaction
commits, so a failure never leaves a row pointing at nothing. Every file's handle is the SHA-256 of its
bytes, computed while it is stored.
"""

from __future__ import annotations

import hashlib
import posixpath
import shutil
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Sequence
from typing import IO

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files import File
from django.db import transaction
from django.db.models import CharField, Q

from config.errors import ApplicationError, Conflict, InvalidRequest, NotFound, Problem
from workspaces.models import Dataset, DatasetFile
from workspaces.selectors import batched, dataset_file_get, dataset_files_named
from workspaces.services.datasets.annotations import FilePairs

_FILENAME_FIELD = DatasetFile._meta.get_field("filename")
assert isinstance(_FILENAME_FIELD, CharField) and _FILENAME_FIELD.max_length is not None
FILENAME_MAX_LENGTH: int = _FILENAME_FIELD.max_length
COMPONENT_MAX_BYTES = 255  # the usual file-system limit of one path component
COPY_CHUNK_BYTES = 1024 * 1024
METADATA_MAX_LENGTH = 64 * 1024
ARCHIVE_FORMATS = {"zip": "application/zip", "tar.gz": "application/gzip"}


class DatasetFileTooLarge(ApplicationError):
    code = "file_too_large"
    status_code = 413
    default_detail = "The file is larger than this server accepts."


class UnsupportedArchiveFormat(ApplicationError):
    """A ``?filetype=`` no archive is made in: a bad query value (400; 415 is about a body's type)."""

    code = "unsupported_format"
    status_code = 400
    default_detail = "This archive format is not supported."


# --- checks ----------------------------------------------------------------------------------------------


def filename_problems(filename: str, *, path: str = "filename") -> list[Problem]:
    """Why ``filename`` is not a safe relative name (nothing when it is).

    Allowed: ``/``-separated components, none empty, ``.`` or ``..``, none longer than 255 bytes;
    no leading ``/``, no backslash, no control characters, at most ``FILENAME_MAX_LENGTH`` characters.
    """

    def problem(message: str) -> list[Problem]:
        return [Problem(path=path, code="invalid_filename", message=message)]

    if not isinstance(filename, str) or not filename:
        return problem("a file name is required")
    if len(filename) > FILENAME_MAX_LENGTH:
        return problem(f"a file name has at most {FILENAME_MAX_LENGTH} characters")
    if "\\" in filename:
        return problem("a file name may not contain a backslash; use '/' between folders")
    if any(ord(char) < 32 or ord(char) == 127 for char in filename):
        return problem("a file name may not contain control characters")
    if any(0xD800 <= ord(char) <= 0xDFFF for char in filename):
        return problem("a file name may not contain lone surrogates")
    if filename.startswith("/"):
        return problem("a file name must be relative (no leading '/')")
    components = filename.split("/")
    if any(component == "" for component in components):
        return problem("a file name may not have empty components ('//' or a trailing '/')")
    if any(component in (".", "..") for component in components):
        return problem("a file name may not contain '.' or '..' components")
    if any(len(component.encode("utf-8")) > COMPONENT_MAX_BYTES for component in components):
        return problem(f"each part of a file name has at most {COMPONENT_MAX_BYTES} bytes")
    return []


def dataset_filename_check(filename: str, *, path: str = "filename") -> str:
    """``filename`` if it is a safe relative name, else a 422 saying why."""
    problems = filename_problems(filename, path=path)
    if problems:
        raise InvalidRequest(f"Invalid file name {str(filename)[:100]!r}.", problems=problems)
    return filename


def ensure_active(dataset: Dataset) -> None:
    if dataset.deletion_time is not None:
        raise Conflict(
            f"{dataset} is deleted; reinstate it first.",
            code="dataset_deleted",
            problems=[Problem(path="", code="dataset_deleted", message=f"{dataset} is soft-deleted")],
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


def _folder_clashes(names: Iterable[str], existing: set[str]) -> list[Problem]:
    """A name may not be both a file and a folder (``a`` and ``a/b``): archives could not hold both."""
    names = list(names)
    everything = existing | set(names)
    folders = {"/".join(name.split("/")[:i]) for name in everything for i in range(1, name.count("/") + 1)}
    problems = []
    for index, name in enumerate(names):
        if name in folders:
            problems.append(
                Problem(
                    path=f"files[{index}]" if len(names) > 1 else "filename",
                    code="file_folder_clash",
                    message=f"{name!r} is also a folder",
                )
            )
        else:
            for i in range(1, name.count("/") + 1):
                ancestor = "/".join(name.split("/")[:i])
                if ancestor in everything:
                    problems.append(
                        Problem(
                            path=f"files[{index}]" if len(names) > 1 else "filename",
                            code="file_folder_clash",
                            message=f"{ancestor!r} is a file",
                        )
                    )
                    break
    return problems


def _existing_related_names(dataset: Dataset, names: Sequence[str]) -> set[str]:
    """The dataset's file names that could clash with ``names``: for one name, itself, its folders and the
    files below it (one small query); for several, every name of the dataset (one query, linear)."""
    files = DatasetFile.objects.filter(dataset=dataset)
    if len(names) != 1:
        return set(files.values_list("filename", flat=True))
    name = names[0]
    components = name.split("/")
    ancestors = ["/".join(components[:i]) for i in range(1, len(components))]
    condition = Q(filename__in=[name, *ancestors]) | Q(filename__startswith=name + "/")
    return set(files.filter(condition).values_list("filename", flat=True))


# --- storage ---------------------------------------------------------------------------------------------


def _field():
    return DatasetFile._meta.get_field("file")


def _delete_stored(storage_names: Iterable[str]) -> None:
    storage = _field().storage
    for name in storage_names:
        if name:
            storage.delete(name)


def delete_stored_after_commit(storage_names: Iterable[str]) -> None:
    names = [name for name in storage_names if name]
    if names:
        transaction.on_commit(lambda: _delete_stored(names))


class _HashingReader:
    """Reads a file through, hashing and counting what passes (so storing computes the handle). Sizes are
    checked before anything is stored: the upload routes stop reading a body past the limit."""

    def __init__(self, source: IO[bytes]) -> None:
        self.source = source
        self.digest = hashlib.sha256()
        self.passed = 0

    def read(self, size: int = -1) -> bytes:
        data = self.source.read(COPY_CHUNK_BYTES if size is None or size < 0 else size)
        self.passed += len(data)
        self.digest.update(data)
        return data


def _store(dataset: Dataset, filename: str, content: File) -> tuple[str, str, int]:
    """Write ``content`` to storage for ``filename`` of ``dataset``: (storage name, handle, size)."""
    field = _field()
    try:
        storage_name = field.generate_filename(DatasetFile(dataset=dataset), filename)
    except SuspiciousFileOperation:
        # The storage cannot derive a name from this one (e.g. "@@@"); the row keeps the real name.
        storage_name = field.generate_filename(
            DatasetFile(dataset=dataset), posixpath.join(posixpath.dirname(filename), "file")
        )
    if hasattr(content, "seek"):
        content.seek(0)
    reader = _HashingReader(content)
    try:
        # File wraps any object with read() (the stubs ask for an IO).
        wrapped = File(reader, name=storage_name)  # type: ignore[arg-type]
        stored = field.storage.save(storage_name, wrapped, max_length=field.max_length)
    except (FileExistsError, NotADirectoryError) as exc:  # the storage's own layout clashes
        raise Conflict(
            f"{filename!r} cannot be stored beside the dataset's other files.",
            code="file_folder_clash",
            problems=[Problem(path="filename", code="file_folder_clash", message=str(exc))],
        ) from exc
    return stored, reader.digest.hexdigest(), reader.passed


# --- upload and removal ------------------------------------------------------------------------------------


def dataset_file_upload(*, dataset: Dataset, filename: str, content: File) -> DatasetFile:
    """Store ``content`` as the file ``filename`` of ``dataset``, replacing a file of that name (its
    annotations stay: the name is the same file)."""
    return dataset_files_upload(dataset=dataset, files=[(filename, content)])[0]


def dataset_files_upload(*, dataset: Dataset, files: Sequence[tuple[str, File]]) -> list[DatasetFile]:
    """Store several files at once: every name is checked first (all problems in one answer) and either
    every file is stored or none is."""
    ensure_active(dataset)
    names = [name for name, _ in files]
    many = len(files) > 1
    problems = [
        problem
        for index, name in enumerate(names)
        for problem in filename_problems(name, path=f"files[{index}]" if many else "filename")
    ]
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            problems.append(Problem(path=f"files[{index}]", code="duplicate", message=f"{name!r} is given twice"))
        seen.add(name)
    if problems:
        raise InvalidRequest(f"{len(problems)} file name(s) are invalid.", problems=problems)
    for _, content in files:
        if content.size is not None and content.size > dataset_file_max_bytes():
            raise dataset_file_too_large(content.size)
    clashes = _folder_clashes(names, _existing_related_names(dataset, names) - set(names))
    if clashes:
        raise Conflict("A name cannot be both a file and a folder.", code="file_folder_clash", problems=clashes)
    stored: list[tuple[str, str, str, int]] = []
    try:
        for name, content in files:
            stored.append((name, *_store(dataset, name, content)))
        with transaction.atomic():
            rows = []
            replaced = []
            current = {
                row.filename: row
                for batch in batched(names)
                for row in DatasetFile.objects.select_for_update().filter(dataset=dataset, filename__in=batch)
            }
            for name, storage_name, handle, size in stored:
                row = current.get(name)
                if row is None:
                    row = DatasetFile.objects.create(
                        dataset=dataset, filename=name, file=storage_name, handle=handle, size=size
                    )
                else:
                    if row.file.name != storage_name:
                        replaced.append(row.file.name)
                    row.file.name, row.handle, row.size = storage_name, handle, size
                    row.save(update_fields=["file", "handle", "size"])
                rows.append(row)
            delete_stored_after_commit(replaced)
    except BaseException:
        _delete_stored(storage_name for _, storage_name, _, _ in stored)
        raise
    return rows


def dataset_file_delete(*, dataset: Dataset, filename: str) -> DatasetFile:
    """Remove the file ``filename`` from ``dataset`` (404 when absent) with its annotations; its stored
    bytes go once the change commits. Returns the removed file's row (without a pk)."""
    ensure_active(dataset)
    datafile = dataset_file_get(dataset=dataset, filename=filename)
    storage_name = datafile.file.name
    with transaction.atomic():
        datafile.delete()
        delete_stored_after_commit([storage_name])
    return datafile


def dataset_files_delete(*, dataset: Dataset, filenames: Sequence[str]) -> list[DatasetFile]:
    """Remove several files at once; every name must exist (all missing ones in one 404), or none goes."""
    ensure_active(dataset)
    rows = dataset_files_named(dataset=dataset, filenames=filenames)
    missing = [
        Problem(path=f"filenames[{index}]", code="not_found", message=f"no file {name[:200]!r}")
        for index, name in enumerate(filenames)
        if name not in rows
    ]
    if missing:
        raise NotFound(f"{dataset} lacks {len(missing)} of these files.", problems=missing)
    removed = [rows[name] for name in dict.fromkeys(filenames)]
    with transaction.atomic():
        for batch in batched(row.pk for row in removed):
            DatasetFile.objects.filter(pk__in=batch).delete()
        delete_stored_after_commit([row.file.name for row in removed])
    return removed


def dataset_files_copy(
    *, pairs: Sequence[tuple[DatasetFile, Dataset, str]], then: Callable[[FilePairs], None] = lambda copies: None
) -> FilePairs:
    """Copy each ``(source file, target dataset, new name)``: the bytes (in chunks), handle and metadata.
    The rows are written, and ``then(copies)`` called (annotations follow their files), in one
    transaction; if anything fails, the copied bytes are removed again."""
    copies: list[tuple[DatasetFile, DatasetFile]] = []
    stored: list[str] = []
    try:
        for source, target, name in pairs:
            with source.file.open("rb") as content:
                storage_name, handle, size = _store(target, name, File(content))
            stored.append(storage_name)
            copy = DatasetFile(
                dataset=target, filename=name, file=storage_name, handle=handle, size=size, metadata=source.metadata
            )
            copies.append((source, copy))
        with transaction.atomic():
            DatasetFile.objects.bulk_create([copy for _, copy in copies])
            then(copies)
    except BaseException:
        _delete_stored(stored)
        raise
    return copies


# --- metadata --------------------------------------------------------------------------------------------


def dataset_file_metadata_set(*, dataset: Dataset, filename: str, metadata: str) -> DatasetFile:
    ensure_active(dataset)
    if len(metadata) > METADATA_MAX_LENGTH:
        raise InvalidRequest(
            problems=[Problem(path="metadata", code="too_long", message=f"at most {METADATA_MAX_LENGTH} characters")]
        )
    datafile = dataset_file_get(dataset=dataset, filename=filename)
    datafile.metadata = metadata
    datafile.save(update_fields=["metadata"])
    return datafile


def dataset_metadata(*, dataset: Dataset) -> dict[str, str]:
    """Every file's metadata, by file name."""
    return dict(DatasetFile.objects.filter(dataset=dataset).order_by("filename").values_list("filename", "metadata"))


# --- archives --------------------------------------------------------------------------------------------


def dataset_archive_name(dataset: Dataset, archive_format: str) -> str:
    """UFDL's archive name: ``<name>.v<version>.<format>``."""
    return f"{dataset.name}.v{dataset.version}.{archive_format}"


def dataset_archive(*, dataset: Dataset, archive_format: str = "zip") -> IO[bytes]:
    """Every file of ``dataset`` in one zip or tar.gz (entries named by their relative names), as a
    temporary file positioned at its start. Files are copied in chunks: nothing is read whole into memory."""
    if archive_format not in ARCHIVE_FORMATS:
        raise UnsupportedArchiveFormat(
            f"No archive format {archive_format[:20]!r}; use one of {', '.join(ARCHIVE_FORMATS)}.",
            problems=[
                Problem(path="filetype", code="unsupported_format", message=f"one of {', '.join(ARCHIVE_FORMATS)}")
            ],
        )
    archive = tempfile.TemporaryFile()
    try:
        files = DatasetFile.objects.filter(dataset=dataset).order_by("filename")
        if archive_format == "zip":
            with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as zip_file:
                for datafile in files:
                    info = zipfile.ZipInfo(datafile.filename, date_time=datafile.creation_time.timetuple()[:6])
                    info.compress_type = zipfile.ZIP_DEFLATED
                    with datafile.file.open("rb") as source, zip_file.open(info, "w", force_zip64=True) as target:
                        shutil.copyfileobj(source, target, COPY_CHUNK_BYTES)
        else:
            with tarfile.open(fileobj=archive, mode="w:gz") as tar_file:
                for datafile in files:
                    tar_info = tarfile.TarInfo(datafile.filename)
                    tar_info.size = datafile.size
                    tar_info.mtime = int(datafile.creation_time.timestamp())
                    with datafile.file.open("rb") as source:
                        tar_file.addfile(tar_info, source)
        archive.seek(0)
    except BaseException:
        archive.close()
        raise
    return archive
