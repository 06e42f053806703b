"""What a stored value of a type is as a file: its media type and file extension (downloads that a
browser can show and that save under a useful name).

* JSON types (``JSON``, ``Map<…>``, ``str``, …): ``application/json``, ``.json``;
* ``BLOB<'hint'>``: the hint names the content, as a media type (``BLOB<'text/csv'>``,
  ``BLOB<'image/png'>``) or as a file extension (``BLOB<'log'>``, ``BLOB<'csv'>``, ``BLOB<'png'>``);
  text is sent as UTF-8;
* ``Compressed<…>``: ``application/zip``, ``.zip`` (what the executors write);
* anything else binary (``Model<…>``, an unknown hint): ``application/octet-stream``, ``.bin``.
"""

from __future__ import annotations

import mimetypes
import re
from typing import NamedTuple

from contracts.types.model import LiteralType, NamedType, Type

OCTET_STREAM = "application/octet-stream"
# Hints the mimetypes table does not know (or knows otherwise) whose meaning is plain.
KNOWN_HINTS = {
    "log": ("text/plain", ".log"),
    "txt": ("text/plain", ".txt"),
    "text": ("text/plain", ".txt"),
    "csv": ("text/csv", ".csv"),
    "json": ("application/json", ".json"),
    "zip": ("application/zip", ".zip"),
    "tgz": ("application/gzip", ".tar.gz"),
    "tar.gz": ("application/gzip", ".tar.gz"),
}
# Extensions chosen where the mimetypes table offers several, or an odd first one.
PREFERRED_EXTENSIONS = {
    "text/plain": ".txt",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/tiff": ".tif",
    "application/zip": ".zip",
}
_MEDIA_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")
_EXTENSION = re.compile(r"^[a-z0-9][a-z0-9._-]{0,15}$")


class FileKind(NamedTuple):
    content_type: str  # with "; charset=utf-8" for text
    extension: str  # with its dot


def file_kind(type_: Type) -> FileKind:
    """The media type and extension of a stored value of ``type_``."""
    if not isinstance(type_, NamedType):
        return FileKind(OCTET_STREAM, ".bin")
    if not type_.type_class.binary:
        return FileKind("application/json", ".json")
    if type_.name == "Compressed":
        return FileKind("application/zip", ".zip")
    if type_.name == "BLOB" and type_.args and isinstance(type_.args[0], LiteralType):
        return _from_hint(str(type_.args[0].value).strip().lower())
    return FileKind(OCTET_STREAM, ".bin")


def _from_hint(hint: str) -> FileKind:
    if hint in KNOWN_HINTS:
        content_type, extension = KNOWN_HINTS[hint]
    elif _MEDIA_TYPE.match(hint):
        content_type = hint
        extension = PREFERRED_EXTENSIONS.get(hint) or mimetypes.guess_extension(hint, strict=False) or ".bin"
    elif _EXTENSION.match(hint):
        guessed, _ = mimetypes.guess_type(f"file.{hint}", strict=False)
        content_type, extension = (guessed or OCTET_STREAM), f".{hint}"
    else:
        return FileKind(OCTET_STREAM, ".bin")
    if content_type.startswith("text/") or content_type == "application/json":
        content_type += "; charset=utf-8"
    return FileKind(content_type, extension)
