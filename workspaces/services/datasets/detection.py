"""Object-detection annotations: the label and prefix vocabularies, file types and annotated objects of a
dataset's files, in UFDL's shapes (``detection_messages``), and how they follow copies and merges.

Labels (and prefixes, the same way) are a vocabulary of the dataset: the ones added explicitly plus
every one an annotation uses (adding an annotation adds its label and prefix). Removing a label removes
the annotations that use it, in the same transaction: that is what UFDL does (its clients rely on it),
it matches image segmentation (setting the labels removes the layers of the labels gone), and it keeps
the rule that every annotation's label is one of its dataset's (a foreign key). A file's annotations are
all of an image or all of a video: a video is a file whose type has a length.

Every change is checked whole first (shapes, unknown files, image/video mismatches, all at once) and made
in one transaction that holds the dataset's row, so concurrent changes of one dataset queue up.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Literal, TypeVar

from django.db import transaction
from django.db.models import Prefetch, QuerySet

from config.errors import Conflict, InvalidRequest, NotFound, Problem, join_path
from workspaces.models import (
    Dataset,
    DatasetFile,
    DetectionAnnotation,
    DetectionFileType,
    DetectionLabel,
    DetectionPrefix,
)
from workspaces.selectors import batched, dataset_file_get, dataset_files_named
from workspaces.services.datasets.annotations import FilePairs, annotation_kind_register
from workspaces.services.datasets.detection_messages import AnnotatedFile, Annotation, FileType
from workspaces.services.datasets.files import ensure_active

Vocabulary = Literal["labels", "prefixes"]
Term = TypeVar("Term", DetectionLabel, DetectionPrefix)
VOCABULARIES: dict[str, type[DetectionLabel] | type[DetectionPrefix]] = {
    "labels": DetectionLabel,
    "prefixes": DetectionPrefix,
}


# --- JSON of rows ------------------------------------------------------------------------------------


def file_type_of(row: DetectionFileType | None) -> FileType:
    if row is None:
        return FileType()
    dimensions = (row.width, row.height) if row.width is not None and row.height is not None else None
    return FileType(format=row.format, dimensions=dimensions, length=row.length)


def annotation_of(row: DetectionAnnotation) -> Annotation:
    """The message of an annotation row (its label and prefix loaded with it)."""
    polygon = tuple((point[0], point[1]) for point in row.polygon) if row.polygon is not None else None
    return Annotation(
        x=row.x,
        y=row.y,
        width=row.width,
        height=row.height,
        label=row.label.text,
        prefix=row.prefix.text,
        polygon=polygon,
        time=row.time,
    )


def annotated_file_json(file_type: DetectionFileType | None, annotations: Iterable[DetectionAnnotation]) -> dict:
    """One entry of an ``AnnotationsFile``: the file's type and ``annotations``."""
    return {**file_type_of(file_type).as_json(), "annotations": [annotation_of(row).as_json() for row in annotations]}


def detection_representation_prefetch(datasets: QuerySet[Dataset]) -> QuerySet[Dataset]:
    """``datasets`` (whose ``files`` are prefetched) with each file's type and annotations: two queries more
    for any number of datasets."""
    return datasets.prefetch_related(
        "files__detection_type",
        Prefetch("files__detections", queryset=DetectionAnnotation.objects.select_related("label", "prefix")),
    )


def detection_annotations_of(dataset: Dataset) -> dict[str, dict]:
    """The ``AnnotationsFile`` of a dataset loaded by ``detection_representation_prefetch``."""
    annotated = {}
    for datafile in dataset.files.all():
        file_type = getattr(datafile, "detection_type", None)
        annotations = datafile.detections.all()
        if file_type is not None or annotations:
            annotated[datafile.filename] = annotated_file_json(file_type, annotations)
    return annotated


# --- reads -----------------------------------------------------------------------------------------------


def detection_vocabulary(*, dataset: Dataset, vocabulary: Vocabulary) -> list[str]:
    """The dataset's labels (or prefixes), sorted, as UFDL answers them."""
    return sorted(VOCABULARIES[vocabulary].objects.filter(dataset=dataset).values_list("text", flat=True))


def detection_file_type(*, dataset: Dataset, filename: str) -> dict:
    """A file's ``FileType`` (``{}`` until set); 404 for a file the dataset lacks."""
    datafile = dataset_file_get(dataset=dataset, filename=filename)
    return file_type_of(DetectionFileType.objects.filter(file=datafile).first()).as_json()


def detection_file_types(*, dataset: Dataset) -> dict[str, dict]:
    """``{file: FileType}`` of the files whose type is set."""
    rows = DetectionFileType.objects.filter(file__dataset=dataset).select_related("file").order_by("file__filename")
    return {row.file.filename: file_type_of(row).as_json() for row in rows}


def detection_annotations(*, dataset: Dataset) -> dict[str, dict]:
    """The dataset's ``AnnotationsFile``: every file with a type or annotations, by name (two queries)."""
    types = {row.file_id: row for row in DetectionFileType.objects.filter(file__dataset=dataset).select_related("file")}
    names = {file_id: row.file.filename for file_id, row in types.items()}
    by_file: dict[int, list[DetectionAnnotation]] = {}
    rows = DetectionAnnotation.objects.filter(file__dataset=dataset).select_related("file", "label", "prefix")
    for row in rows.order_by("pk"):
        by_file.setdefault(row.file_id, []).append(row)
        names[row.file_id] = row.file.filename
    return {
        names[file_id]: annotated_file_json(types.get(file_id), by_file.get(file_id, []))
        for file_id in sorted(names, key=names.__getitem__)
    }


def detection_file_annotations(*, dataset: Dataset, filename: str) -> list[dict]:
    """One file's annotations (a list; empty when it has none); 404 for a file the dataset lacks."""
    datafile = dataset_file_get(dataset=dataset, filename=filename)
    rows = DetectionAnnotation.objects.filter(file=datafile).select_related("label", "prefix").order_by("pk")
    return [annotation_of(row).as_json() for row in rows]


# --- writes ------------------------------------------------------------------------------------------------


def dataset_lock(dataset: Dataset) -> None:
    """Refuse a soft-deleted dataset (409), else hold its row until the transaction ends: the annotation
    changes of one dataset queue up instead of interleaving."""
    ensure_active(dataset)
    Dataset.objects.select_for_update().filter(pk=dataset.pk).values_list("pk", flat=True).first()


def _terms(model: type[Term], dataset: Dataset, texts: Iterable[str]) -> dict[str, Term]:
    """The vocabulary rows of ``texts`` in ``dataset``, made where missing."""
    wanted = list(dict.fromkeys(texts))
    if not wanted:
        return {}
    model.objects.bulk_create([model(dataset=dataset, text=text) for text in wanted], ignore_conflicts=True)
    return {row.text: row for row in model.objects.filter(dataset=dataset, text__in=wanted)}


def _create(dataset: Dataset, items: Sequence[tuple[DatasetFile, Sequence[Annotation]]]) -> None:
    """Store the annotations of each file, adding the labels and prefixes they use to the dataset's."""
    labels = _terms(DetectionLabel, dataset, (a.label for _, annotations in items for a in annotations))
    prefixes = _terms(DetectionPrefix, dataset, (a.prefix for _, annotations in items for a in annotations))
    DetectionAnnotation.objects.bulk_create(
        DetectionAnnotation(
            file=datafile,
            x=a.x,
            y=a.y,
            width=a.width,
            height=a.height,
            polygon=[list(point) for point in a.polygon] if a.polygon is not None else None,
            label=labels[a.label],
            prefix=prefixes[a.prefix],
            time=a.time,
        )
        for datafile, annotations in items
        for a in annotations
    )


def _kind_problems(annotations: Sequence[Annotation], video: bool, path: str = "") -> list[Problem]:
    """Annotations of the wrong kind for their file: a video's need a time, an image's have none."""
    problems = []
    for index, annotation in enumerate(annotations):
        where = join_path(join_path(path, index), "time")
        if video and annotation.time is None:
            problems.append(Problem(path=where, code="required", message="the file is a video: give the time"))
        elif not video and annotation.time is not None:
            problems.append(
                Problem(path=where, code="unexpected", message="the file is an image (its type has no length)")
            )
    return problems


@transaction.atomic
def detection_vocabulary_add(*, dataset: Dataset, vocabulary: Vocabulary, texts: Sequence[str]) -> None:
    """Add labels (or prefixes) to the dataset; ones it has already stay as they are."""
    dataset_lock(dataset)
    if vocabulary == "labels":
        _terms(DetectionLabel, dataset, texts)
    else:
        _terms(DetectionPrefix, dataset, texts)


@transaction.atomic
def detection_vocabulary_remove(*, dataset: Dataset, vocabulary: Vocabulary, text: str) -> int:
    """Remove a label (or prefix) and every annotation that uses it; 404 when the dataset lacks it. Answers
    how many annotations went with it."""
    dataset_lock(dataset)
    row = VOCABULARIES[vocabulary].objects.filter(dataset=dataset, text=text).first()
    if row is None:
        what = {"labels": "label", "prefixes": "prefix"}[vocabulary]
        raise NotFound(
            f"{dataset} has no {what} {text[:200]!r}.",
            problems=[Problem(path=what, code="not_found", message=f"no {what} {text[:200]!r}")],
        )
    used = row.annotations.count()
    row.delete()
    return used


@transaction.atomic
def detection_file_type_set(*, dataset: Dataset, filename: str, file_type: FileType) -> None:
    """Set (or replace) a file's type; 409 when it would turn an annotated image into a video or back."""
    dataset_lock(dataset)
    datafile = dataset_file_get(dataset=dataset, filename=filename)
    mismatched = DetectionAnnotation.objects.filter(file=datafile, time__isnull=file_type.is_video).count()
    if mismatched:
        kind = "image" if file_type.is_video else "video"
        raise Conflict(
            f"{filename[:200]!r} has {mismatched} {kind} annotation(s); remove them before changing its kind.",
            code="annotation_kind",
            problems=[Problem(path="length", code="annotation_kind", message=f"the file has {kind} annotations")],
        )
    width, height = file_type.dimensions or (None, None)
    DetectionFileType.objects.update_or_create(
        file=datafile,
        defaults={"format": file_type.format, "width": width, "height": height, "length": file_type.length},
    )


@transaction.atomic
def detection_annotations_set(*, dataset: Dataset, files: Mapping[str, AnnotatedFile]) -> None:
    """Replace every annotation of the dataset with ``files`` (an ``AnnotationsFile``): the files named get
    the body's annotations and type; the others lose their annotations and keep their type. Files the
    dataset lacks are a 422 naming each, and nothing changes."""
    dataset_lock(dataset)
    found = dataset_files_named(dataset=dataset, filenames=files)
    missing = [
        Problem(path=name[:500], code="not_found", message=f"the dataset has no file {name[:200]!r}")
        for name in files
        if name not in found
    ]
    if missing:
        raise InvalidRequest(f"{len(missing)} of the files are not in {dataset}.", problems=missing)
    DetectionAnnotation.objects.filter(file__dataset=dataset).delete()
    for batch in batched(row.pk for row in found.values()):
        DetectionFileType.objects.filter(file_id__in=batch).delete()
    DetectionFileType.objects.bulk_create(
        DetectionFileType(
            file=found[name],
            format=entry.file_type.format,
            width=entry.file_type.dimensions[0] if entry.file_type.dimensions else None,
            height=entry.file_type.dimensions[1] if entry.file_type.dimensions else None,
            length=entry.file_type.length,
        )
        for name, entry in files.items()
        if entry.file_type != FileType()
    )
    _create(dataset, [(found[name], entry.annotations) for name, entry in files.items()])


@transaction.atomic
def detection_annotations_clear(*, dataset: Dataset) -> None:
    """Remove every annotation of the dataset (file types, labels and prefixes stay, as in UFDL)."""
    dataset_lock(dataset)
    DetectionAnnotation.objects.filter(file__dataset=dataset).delete()


@transaction.atomic
def detection_file_annotations_set(
    *, dataset: Dataset, filename: str, annotations: Sequence[Annotation], add: bool = False
) -> None:
    """Set (``add``: append to) one file's annotations; 404 for a file the dataset lacks, 422 for
    annotations of the wrong kind (a video's need a ``time``, an image's have none)."""
    dataset_lock(dataset)
    datafile = dataset_file_get(dataset=dataset, filename=filename)
    file_type = DetectionFileType.objects.filter(file=datafile).first()
    problems = _kind_problems(annotations, video=file_type is not None and file_type.is_video)
    if problems:
        raise InvalidRequest(f"{len(problems)} annotation(s) do not fit {filename[:200]!r}.", problems=problems)
    if not add:
        DetectionAnnotation.objects.filter(file=datafile).delete()
    _create(dataset, [(datafile, annotations)])


@transaction.atomic
def detection_file_annotations_delete(*, dataset: Dataset, filename: str) -> None:
    """Remove one file's annotations (its type stays); 404 for a file the dataset lacks."""
    dataset_lock(dataset)
    DetectionAnnotation.objects.filter(file=dataset_file_get(dataset=dataset, filename=filename)).delete()


# --- copy, merge, clear ------------------------------------------------------------------------------------


class ObjectDetectionAnnotations:
    """Object-detection annotations follow their files: the target gets the source's labels and prefixes
    (a union); a file new to the target takes the source file's type and annotations; a file the target
    already had (the same content) keeps its type and gains the source's annotations it lacks."""

    name = "object_detection"

    def merge(self, *, source: Dataset, target: Dataset, pairs: FilePairs) -> None:
        _terms(DetectionLabel, target, DetectionLabel.objects.filter(dataset=source).values_list("text", flat=True))
        _terms(DetectionPrefix, target, DetectionPrefix.objects.filter(dataset=source).values_list("text", flat=True))
        target_of = {source_file.pk: target_file for source_file, target_file in pairs}
        if not target_of:
            return
        # Both datasets' rows are read whole (linear; no IN list of every file, which SQLite limits).
        types = {row.file_id: row for row in DetectionFileType.objects.filter(file__dataset=target)}
        new_types = []
        for source_type in DetectionFileType.objects.filter(file__dataset=source):
            target_file = target_of.get(source_type.file_id)
            if target_file is not None and target_file.pk not in types:
                types[target_file.pk] = DetectionFileType(
                    file=target_file,
                    format=source_type.format,
                    width=source_type.width,
                    height=source_type.height,
                    length=source_type.length,
                )
                new_types.append(types[target_file.pk])
        DetectionFileType.objects.bulk_create(new_types, batch_size=1000)
        have = {
            (row.file_id, annotation_of(row))
            for row in DetectionAnnotation.objects.filter(file__dataset=target).select_related("label", "prefix")
        }
        additions: dict[int, tuple[DatasetFile, list[Annotation]]] = {}
        for row in DetectionAnnotation.objects.filter(file__dataset=source).select_related("label", "prefix"):
            target_file = target_of.get(row.file_id)
            if target_file is None:
                continue
            annotation = annotation_of(row)
            video = target_file.pk in types and types[target_file.pk].is_video
            # A shared file whose kinds differ keeps the target's annotations only.
            if (target_file.pk, annotation) in have or video != (annotation.time is not None):
                continue
            have.add((target_file.pk, annotation))
            additions.setdefault(target_file.pk, (target_file, []))[1].append(annotation)
        _create(target, list(additions.values()))

    def clear(self, *, dataset: Dataset) -> None:
        DetectionAnnotation.objects.filter(file__dataset=dataset).delete()


annotation_kind_register(ObjectDetectionAnnotations())
