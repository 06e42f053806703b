"""Reading an uploaded file from a request without holding it in memory, within a size limit.

Two forms are accepted: ``multipart/form-data`` with the file in the field ``file`` (Django's upload
handlers spool it to a temporary file past ``FILE_UPLOAD_MAX_MEMORY_SIZE``), and a raw body of any
other content type (read in chunks into a spooled temporary file). Both stop as soon as the size
limit is passed, with a 413.
"""

from __future__ import annotations

import tempfile

from django.conf import settings
from django.core.files import File
from django.core.files.uploadhandler import FileUploadHandler
from rest_framework.request import Request

from config.errors import MalformedRequest, Problem
from contracts.services.datasets import dataset_file_max_bytes, dataset_file_too_large

READ_CHUNK_BYTES = 64 * 1024


class SizeLimitUploadHandler(FileUploadHandler):
    """Aborts a multipart upload as soon as one file passes the dataset file size limit; passes the
    data on to the next handler (memory or temporary file) otherwise."""

    def __init__(self, request=None, limit: int | None = None) -> None:
        super().__init__(request)
        self.limit = dataset_file_max_bytes() if limit is None else limit

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if start + len(raw_data) > self.limit:
            raise dataset_file_too_large()
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


def _declared_length(request: Request) -> int | None:
    try:
        return int(request.META.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None


def _read_raw_body(request: Request, limit: int) -> File:
    declared = _declared_length(request)
    if declared is not None and declared > limit:
        raise dataset_file_too_large(declared)
    spool = tempfile.SpooledTemporaryFile(
        max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE, dir=settings.FILE_UPLOAD_TEMP_DIR
    )
    try:
        stream = request.stream  # None when the request has no body: an empty file
        total = 0
        while stream is not None:
            chunk = stream.read(READ_CHUNK_BYTES)
            if not chunk:
                break
            total += len(chunk)
            if total > limit:
                raise dataset_file_too_large()
            spool.write(chunk)
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    upload = File(spool, name="upload")
    upload.size = total
    return upload


def uploaded_file(request: Request) -> File:
    """The file a request uploads (multipart field ``file``, or the raw body); the caller closes it."""
    limit = dataset_file_max_bytes()
    if not request.content_type.startswith("multipart/form-data"):
        return _read_raw_body(request, limit)
    # Mutating the list (not assigning it) is allowed before the body is parsed.
    request.upload_handlers.insert(0, SizeLimitUploadHandler(request._request, limit))
    upload = request.FILES.get("file")
    if upload is None:
        raise MalformedRequest(
            "A multipart upload sends the file in the field 'file'.",
            problems=[Problem(path="file", code="required", message="no multipart field 'file'")],
        )
    if upload.size > limit:  # the handler stops most; this also covers a body parsed before it was added
        upload.close()
        raise dataset_file_too_large(upload.size)
    return upload
