"""Reading uploaded files from a request without holding them in memory, within size limits.

One file comes as ``multipart/form-data`` with the file in the field ``file`` (Django's upload handlers
spool it to a temporary file past ``FILE_UPLOAD_MAX_MEMORY_SIZE``) or as a raw body of any other content
type (read in chunks into a spooled temporary file). Several files come as multipart parts, each
named by its field (``cat/001.png``), or as a zip or tar(.gz) archive in the raw body. Every read stops
as soon as a size limit is passed, with a 413.
"""

from __future__ import annotations

import io
import tarfile
import tempfile
import zipfile

from django.conf import settings
from django.core.files import File
from django.core.files.uploadhandler import FileUploadHandler
from rest_framework.request import Request

from config.errors import MalformedRequest, Problem
from workspaces.services.datasets import DatasetFileTooLarge, dataset_file_max_bytes

READ_CHUNK_BYTES = 64 * 1024


def too_large(limit: int, size: int | None = None) -> DatasetFileTooLarge:
    """The 413 of an upload past ``limit`` bytes (naming that limit, which need not be the dataset one)."""
    got = f" ({size} bytes)" if size is not None else ""
    return DatasetFileTooLarge(
        f"The file{got} is larger than the limit of {limit} bytes.",
        problems=[Problem(path="file", code="file_too_large", message=f"at most {limit} bytes")],
    )


class SizeLimitUploadHandler(FileUploadHandler):
    """Aborts a multipart upload as soon as one file passes the dataset file size limit; passes the
    data on to the next handler (memory or temporary file) otherwise."""

    def __init__(self, request=None, limit: int | None = None) -> None:
        super().__init__(request)
        self.limit = dataset_file_max_bytes() if limit is None else limit

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if start + len(raw_data) > self.limit:
            raise too_large(self.limit)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


def _spool_limited(source, limit: int, size_hint: int | None = None) -> File:
    """Copy ``source`` into a spooled temporary file, stopping with a 413 past ``limit`` bytes (a declared
    ``size_hint`` past it stops before reading; what is read is counted all the same, since a declared size
    — a Content-Length, an archive entry's — can lie)."""
    if size_hint is not None and size_hint > limit:
        raise too_large(limit, size_hint)
    spool = tempfile.SpooledTemporaryFile(
        max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE, dir=settings.FILE_UPLOAD_TEMP_DIR
    )
    try:
        total = 0
        while chunk := source.read(READ_CHUNK_BYTES):
            total += len(chunk)
            if total > limit:
                raise too_large(limit)
            spool.write(chunk)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    upload = File(spool, name="upload")
    upload.size = total
    return upload


def _declared_length(request: Request) -> int | None:
    try:
        return int(request.META.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None


def _read_raw_body(request: Request, limit: int) -> File:
    stream = request.stream  # None when the request has no body: an empty file
    return _spool_limited(stream if stream is not None else io.BytesIO(), limit, _declared_length(request))


def uploaded_file(request: Request, *, limit: int | None = None) -> File:
    """The file a request uploads (multipart field ``file``, or the raw body), at most ``limit`` bytes
    (default: the dataset file limit); the caller closes it."""
    limit = dataset_file_max_bytes() if limit is None else int(limit)
    if not request.content_type.startswith("multipart/form-data"):
        return _read_raw_body(request, limit)
    # Mutating the list (not assigning it) is allowed before the body is parsed.
    _upload_handlers(request).insert(0, SizeLimitUploadHandler(request._request, limit))
    upload = request.FILES.get("file")
    if upload is None:
        raise MalformedRequest(
            "A multipart upload sends the file in the field 'file'.",
            problems=[Problem(path="file", code="required", message="no multipart field 'file'")],
        )
    if upload.size > limit:  # the handler stops most; this also covers a body parsed before it was added
        upload.close()
        raise too_large(limit, upload.size)
    return upload


class TooManyFiles(MalformedRequest):
    code = "too_many_files"


def _archive_entries(archive: File, archive_type: str) -> list[tuple[str, File]]:
    """The files of a zip or tar(.gz) archive (folders skipped, names as stored), each within the limits."""
    limit = dataset_file_max_bytes()
    most = int(settings.DATASET_ARCHIVE_MAX_FILES)
    files: list[tuple[str, File]] = []

    def add(name: str, source, size: int | None) -> None:
        if len(files) >= most:
            raise TooManyFiles(
                f"An archive holds at most {most} files here.",
                problems=[Problem(path="", code="too_many_files", message=f"at most {most} files")],
            )
        files.append((name, _spool_limited(source, limit, size)))

    try:
        if archive_type == "zip":
            with zipfile.ZipFile(archive) as zip_file:
                for info in zip_file.infolist():
                    if not info.is_dir():
                        with zip_file.open(info) as source:
                            add(info.filename, source, info.file_size)
        else:
            with tarfile.open(fileobj=archive, mode="r:*") as tar_file:
                for member in tar_file:
                    if member.isfile():
                        add(member.name, tar_file.extractfile(member), member.size)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as error:
        for _, content in files:
            content.close()
        raise MalformedRequest(
            f"The body is not a readable {archive_type} archive.",
            problems=[Problem(path="", code="bad_archive", message=str(error)[:200])],
        ) from error
    except BaseException:
        for _, content in files:
            content.close()
        raise
    return files


def uploaded_files(request: Request, *, archive_type: str | None) -> list[tuple[str, File]]:
    """The ``(file name, content)`` pairs a request uploads: multipart parts named by their fields, or the
    entries of a zip/tar(.gz) body (``archive_type``). The caller closes the contents."""
    if request.content_type.startswith("multipart/form-data"):
        _upload_handlers(request).insert(0, SizeLimitUploadHandler(request._request))
        files = [(name, upload) for name in request.FILES for upload in request.FILES.getlist(name)]
        if not files:
            raise MalformedRequest(
                "Send the files as multipart parts named by their file names, or a zip or tar.gz archive.",
                problems=[Problem(path="", code="required", message="no files in the request")],
            )
        return files
    if archive_type is None:
        raise MalformedRequest(
            "Send several files as multipart/form-data or as an archive (application/zip, application/gzip).",
            problems=[Problem(path="", code="unsupported_media_type", message=f"not {request.content_type[:80]!r}")],
        )
    archive = _read_raw_body(request, dataset_file_max_bytes())
    try:
        return _archive_entries(archive, archive_type)
    finally:
        archive.close()


def _upload_handlers(request) -> list:
    """The request's upload handlers, still a list: Django makes them immutable only once the body is read."""
    handlers = request.upload_handlers
    if not isinstance(handlers, list):
        raise AttributeError("the upload handlers are fixed once the body is read: add ours before")
    return handlers
