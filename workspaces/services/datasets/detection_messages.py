"""UFDL's object-detection messages (``ufdl.json.object_detection``): ``FileType``, ``ImageAnnotation`` /
``VideoAnnotation`` and ``AnnotationsFile``, read strictly from parsed JSON.

Unknown keys, wrong types (a JSON integer where UFDL wants one: ``1.5`` and ``true`` are not), values out
of range and missing keys are all reported at once, each at its path into the body (``[2].width`` in a
list of annotations, ``img.jpg.annotations[2].width`` in an ``AnnotationsFile``). No database access: the
parsed messages are plain frozen dataclasses that the services store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from config.errors import MalformedRequest, Problem, join_path
from workspaces.models.detection import DEFAULT_PREFIX, FORMAT_MAX_LENGTH, TERM_MAX_LENGTH

INT_MIN, INT_MAX = -(2**31), 2**31 - 1  # the database's integer columns
POLYGON_MAX_POINTS = 10_000
ANNOTATIONS_MAX = 100_000  # in one request
ANNOTATION_KEYS = ("x", "y", "width", "height", "polygon", "label", "prefix", "time")
FILE_TYPE_KEYS = ("format", "dimensions", "length")


@dataclass(frozen=True)
class FileType:
    """A file's type: format, ``(width, height)`` and, for a video, its length in seconds (none: an image)."""

    format: str | None = None
    dimensions: tuple[int, int] | None = None
    length: float | None = None

    @property
    def is_video(self) -> bool:
        return self.length is not None

    def as_json(self) -> dict[str, Any]:
        """UFDL's ``FileType``: only the keys that are set."""
        body: dict[str, Any] = {}
        if self.format is not None:
            body["format"] = self.format
        if self.dimensions is not None:
            body["dimensions"] = list(self.dimensions)
        if self.length is not None:
            body["length"] = self.length
        return body


@dataclass(frozen=True)
class Annotation:
    """One annotated object: a bounding box, an optional polygon, a label and a prefix; ``time`` (seconds)
    for a frame of a video, none for an image."""

    x: int
    y: int
    width: int
    height: int
    label: str
    prefix: str = DEFAULT_PREFIX
    polygon: tuple[tuple[int, int], ...] | None = None
    time: float | None = None

    def as_json(self) -> dict[str, Any]:
        """UFDL's ``ImageAnnotation`` (or ``VideoAnnotation``, with ``time``), keys in UFDL's order."""
        body: dict[str, Any] = {"x": self.x, "y": self.y, "width": self.width, "height": self.height}
        if self.polygon is not None:
            body["polygon"] = {"points": [list(point) for point in self.polygon]}
        body["label"] = self.label
        body["prefix"] = self.prefix
        if self.time is not None:
            body["time"] = self.time
        return body


@dataclass(frozen=True)
class AnnotatedFile:
    """One entry of an ``AnnotationsFile``: the file's type and its annotations."""

    file_type: FileType
    annotations: tuple[Annotation, ...]


def _problem(problems: list[Problem], path: str, code: str, message: str) -> None:
    problems.append(Problem(path=path, code=code, message=message))


def _unknown_keys(body: Mapping, allowed: tuple[str, ...], path: str, problems: list[Problem]) -> None:
    for key in body:
        if key not in allowed:
            _problem(problems, join_path(path, str(key)[:100]), "unknown_key", f"not one of {', '.join(allowed)}")


def term_problems(value: Any, path: str, what: str = "label") -> list[Problem]:
    """Why ``value`` is not a label (or prefix): a non-empty string of at most 200 characters without
    control characters (a newline would be a second label to some readers)."""
    if not isinstance(value, str) or not value:
        return [Problem(path=path, code="wrong_type", message=f"a {what} is a non-empty string")]
    if not value.strip():
        return [Problem(path=path, code="invalid_label", message=f"a {what} is not only spaces")]
    if len(value) > TERM_MAX_LENGTH:
        return [Problem(path=path, code="too_long", message=f"a {what} has at most {TERM_MAX_LENGTH} characters")]
    if any(ord(char) < 32 or ord(char) == 127 or 0xD800 <= ord(char) <= 0xDFFF for char in value):
        return [Problem(path=path, code="invalid_label", message=f"a {what} may not contain control characters")]
    return []


def _integer(body: Mapping, key: str, path: str, problems: list[Problem], *, minimum: int = INT_MIN) -> int | None:
    value = body.get(key)
    where = join_path(path, key)
    if key not in body:
        _problem(problems, where, "required", "required")
        return None
    if type(value) is not int:  # bool is an int to Python, not to UFDL
        _problem(problems, where, "wrong_type", "an integer")
        return None
    if not minimum <= value <= INT_MAX:
        _problem(problems, where, "out_of_range", f"an integer from {minimum} to {INT_MAX}")
        return None
    return value


def _seconds(value: Any, where: str, problems: list[Problem]) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        _problem(problems, where, "wrong_type", "a number of seconds")
        return None
    if value < 0:
        _problem(problems, where, "out_of_range", "at least 0")
        return None
    return float(value)


def _polygon(value: Any, where: str, problems: list[Problem]) -> tuple[tuple[int, int], ...] | None:
    if not isinstance(value, dict):
        _problem(problems, where, "wrong_type", 'an object {"points": [[x, y], …]}')
        return None
    _unknown_keys(value, ("points",), where, problems)
    points = value.get("points")
    points_path = join_path(where, "points")
    if not isinstance(points, list):
        _problem(problems, points_path, "required" if "points" not in value else "wrong_type", "a list of [x, y]")
        return None
    if not 3 <= len(points) <= POLYGON_MAX_POINTS:
        _problem(problems, points_path, "out_of_range", f"from 3 to {POLYGON_MAX_POINTS} points")
        return None
    parsed = []
    for index, point in enumerate(points):
        if (
            not isinstance(point, list)
            or len(point) != 2
            or not all(type(coordinate) is int and INT_MIN <= coordinate <= INT_MAX for coordinate in point)
        ):
            _problem(problems, join_path(points_path, index), "wrong_type", "a pair of integers [x, y]")
            continue
        parsed.append((point[0], point[1]))
    return tuple(parsed) if len(parsed) == len(points) else None


def _annotation(raw: Any, path: str, problems: list[Problem], *, time: bool | None) -> Annotation | None:
    """``time``: True, a video's annotation (``time`` required); False, an image's (no ``time``); None,
    either."""
    if not isinstance(raw, dict):
        _problem(problems, path, "wrong_type", "an annotation object")
        return None
    before = len(problems)
    _unknown_keys(raw, ANNOTATION_KEYS, path, problems)
    x = _integer(raw, "x", path, problems)
    y = _integer(raw, "y", path, problems)
    width = _integer(raw, "width", path, problems, minimum=0)
    height = _integer(raw, "height", path, problems, minimum=0)
    polygon = _polygon(raw["polygon"], join_path(path, "polygon"), problems) if "polygon" in raw else None
    if "label" not in raw:
        _problem(problems, join_path(path, "label"), "required", "required")
    else:
        problems += term_problems(raw["label"], join_path(path, "label"))
    prefix = raw.get("prefix", DEFAULT_PREFIX)
    problems += term_problems(prefix, join_path(path, "prefix"), "prefix")
    seconds = None
    if "time" in raw:
        if time is False:
            _problem(problems, join_path(path, "time"), "unexpected", "an image's annotations have no time")
        else:
            seconds = _seconds(raw["time"], join_path(path, "time"), problems)
    elif time is True:
        _problem(problems, join_path(path, "time"), "required", "a video's annotations have a time")
    if len(problems) > before or x is None or y is None or width is None or height is None:
        return None
    return Annotation(
        x=x, y=y, width=width, height=height, label=raw["label"], prefix=prefix, polygon=polygon, time=seconds
    )


def _annotations(raw: Any, path: str, problems: list[Problem], *, time: bool | None) -> list[Annotation]:
    if not isinstance(raw, list):
        _problem(problems, path, "wrong_type", "a list of annotations")
        return []
    if len(raw) > ANNOTATIONS_MAX:
        _problem(problems, path, "too_many", f"at most {ANNOTATIONS_MAX} annotations at once")
        return []
    parsed = [_annotation(item, join_path(path, index), problems, time=time) for index, item in enumerate(raw)]
    return [annotation for annotation in parsed if annotation is not None]


def _file_type(raw: Mapping, path: str, problems: list[Problem]) -> FileType:
    file_format = raw.get("format")
    if file_format is not None and (not isinstance(file_format, str) or len(file_format) > FORMAT_MAX_LENGTH):
        _problem(problems, join_path(path, "format"), "wrong_type", f"a string of at most {FORMAT_MAX_LENGTH}")
        file_format = None
    dimensions = raw.get("dimensions")
    if dimensions is not None:
        if (
            not isinstance(dimensions, list)
            or len(dimensions) != 2
            or not all(type(value) is int and 1 <= value <= INT_MAX for value in dimensions)
        ):
            _problem(problems, join_path(path, "dimensions"), "wrong_type", "[width, height], positive integers")
            dimensions = None
    length = raw.get("length")
    if length is not None:
        length = _seconds(length, join_path(path, "length"), problems)
    return FileType(format=file_format, dimensions=tuple(dimensions) if dimensions is not None else None, length=length)


def _raise(problems: list[Problem], what: str) -> None:
    if problems:
        raise MalformedRequest(f"{len(problems)} problem(s) in the {what}.", problems=problems)


def parse_terms(body: Any, what: str = "label") -> list[str]:
    """A JSON array of labels (or prefixes), as UFDL's client posts them; duplicates count once."""
    if not isinstance(body, list):
        raise MalformedRequest(problems=[Problem(path="", code="wrong_type", message=f"a list of {what}s")])
    problems = [problem for index, term in enumerate(body) for problem in term_problems(term, f"[{index}]", what)]
    _raise(problems, f"{what}s")
    return list(dict.fromkeys(body))


def parse_file_type(body: Any) -> FileType:
    """A ``FileType``: ``{"format"?, "dimensions"?: [width, height], "length"?}`` (length: a video)."""
    if not isinstance(body, dict):
        raise MalformedRequest(problems=[Problem(path="", code="wrong_type", message="a FileType object")])
    problems: list[Problem] = []
    _unknown_keys(body, FILE_TYPE_KEYS, "", problems)
    file_type = _file_type(body, "", problems)
    _raise(problems, "file type")
    return file_type


def parse_annotations(body: Any) -> list[Annotation]:
    """A JSON array of ``ImageAnnotation`` or ``VideoAnnotation`` (with ``time``), as one file's route takes."""
    problems: list[Problem] = []
    annotations = _annotations(body, "", problems, time=None)
    _raise(problems, "annotations")
    return annotations


def parse_annotations_file(body: Any) -> dict[str, AnnotatedFile]:
    """An ``AnnotationsFile``: ``{file: {"format"?, "dimensions"?, "length"?, "annotations": [...]}}``. An entry
    with ``length`` is a video: each of its annotations has a ``time``; an image's have none."""
    if not isinstance(body, dict):
        raise MalformedRequest(problems=[Problem(path="", code="wrong_type", message="an object: file → annotations")])
    problems: list[Problem] = []
    files: dict[str, AnnotatedFile] = {}
    total = 0
    for filename, entry in body.items():
        if not isinstance(entry, dict):
            _problem(problems, filename, "wrong_type", "an Image or Video object")
            continue
        _unknown_keys(entry, (*FILE_TYPE_KEYS, "annotations"), filename, problems)
        file_type = _file_type(entry, filename, problems)
        where = join_path(filename, "annotations")
        if "annotations" not in entry:
            _problem(problems, where, "required", "required (a list, possibly empty)")
            continue
        video = entry.get("length") is not None
        annotations = _annotations(entry["annotations"], where, problems, time=video)
        total += len(annotations)
        files[filename] = AnnotatedFile(file_type=file_type, annotations=tuple(annotations))
    if total > ANNOTATIONS_MAX:
        _problem(problems, "", "too_many", f"at most {ANNOTATIONS_MAX} annotations at once")
    _raise(problems, "annotations")
    return files
