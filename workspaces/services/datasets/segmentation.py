"""Image-segmentation annotations: a dataset's ordered labels and, per file and label, one mask layer (UFDL's
``labels`` and ``layers/{file}/{label}``), and how they follow copies and merges.

Masks are stored by content (SHA-256) and shared: a copy or merge points the new layers at the same mask,
so nothing is copied and nothing is left half-copied if the transaction fails. The bytes are written
before the row that points at them; a mask no layer uses any more (its layer replaced, or removed with
its label, file or dataset, however that happens) is deleted after the change commits, and its bytes
after that. A mask a concurrent upload has just taken is kept: the upload holds its row, and the
database refuses to delete a row a layer points at.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterable, Sequence
from functools import partial
from typing import IO

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, ProtectedError
from django.db.models.signals import post_delete
from django.dispatch import receiver

from config.errors import InvalidRequest, MalformedRequest, NotFound, Problem
from workspaces.models import Dataset, DatasetFile, SegmentationLabel, SegmentationLayer, SegmentationMask
from workspaces.selectors import dataset_file_get
from workspaces.services.datasets.annotations import FilePairs, annotation_kind_register
from workspaces.services.datasets.detection import dataset_lock
from workspaces.services.datasets.detection_messages import term_problems
from workspaces.services.datasets.files import ensure_active

HASH_CHUNK_BYTES = 1024 * 1024
LABELS_MAX = 10_000


# --- labels ----------------------------------------------------------------------------------------------


def segmentation_label_problems(labels: object, path: str = "labels") -> list[Problem]:
    """Why ``labels`` is not a list of labels: each a non-empty string without control characters (UFDL
    stored them one per line, so a newline made two) and without ``/`` (a layer's route ends in its label),
    and no label twice."""
    if not isinstance(labels, list):
        return [Problem(path=path, code="wrong_type", message="a list of labels")]
    if len(labels) > LABELS_MAX:
        return [Problem(path=path, code="too_many", message=f"at most {LABELS_MAX} labels")]
    problems = []
    seen: set[str] = set()
    for index, label in enumerate(labels):
        where = f"{path}[{index}]"
        found = term_problems(label, where)
        if not found and "/" in label:
            found = [Problem(path=where, code="invalid_label", message="a label may not contain '/'")]
        if not found and label in seen:
            found = [Problem(path=where, code="duplicate", message=f"{label[:200]!r} is given twice")]
        problems += found
        if isinstance(label, str):
            seen.add(label)
    return problems


def segmentation_labels(*, dataset: Dataset) -> list[str]:
    """The dataset's labels in their canonical order."""
    return list(SegmentationLabel.objects.filter(dataset=dataset).values_list("text", flat=True))


@transaction.atomic
def segmentation_labels_set(*, dataset: Dataset, labels: Sequence[str]) -> list[str]:
    """Make ``labels`` the dataset's labels, in that order; the layers of the labels gone are removed (and
    their masks released). Answers the labels."""
    problems = segmentation_label_problems(list(labels))
    if problems:
        raise MalformedRequest(f"{len(problems)} problem(s) in the labels.", problems=problems)
    dataset_lock(dataset)
    current = {row.text: row for row in SegmentationLabel.objects.filter(dataset=dataset)}
    SegmentationLabel.objects.filter(pk__in=[row.pk for text, row in current.items() if text not in labels]).delete()
    moved, new = [], []
    for position, text in enumerate(labels):
        row = current.get(text)
        if row is None:
            new.append(SegmentationLabel(dataset=dataset, text=text, position=position))
        elif row.position != position:
            row.position = position
            moved.append(row)
    SegmentationLabel.objects.bulk_update(moved, ["position"])
    SegmentationLabel.objects.bulk_create(new)
    return list(labels)


def _label(dataset: Dataset, label: str, *, error: type[NotFound] | type[InvalidRequest]) -> SegmentationLabel:
    row = SegmentationLabel.objects.filter(dataset=dataset, text=label).first()
    if row is None:
        raise error(
            f"{dataset} has no label {label[:200]!r}; set its labels first.",
            problems=[Problem(path="label", code="unknown_label", message="not one of the dataset's labels")],
        )
    return row


# --- masks -----------------------------------------------------------------------------------------------


def _mask_field():
    return SegmentationMask._meta.get_field("file")


def _content_handle(content: IO[bytes]) -> tuple[str, int]:
    content.seek(0)
    digest = hashlib.sha256()
    size = 0
    while chunk := content.read(HASH_CHUNK_BYTES):
        digest.update(chunk)
        size += len(chunk)
    content.seek(0)
    return digest.hexdigest(), size


def _write(content, handle: str) -> str:
    """Store the bytes under a name made of their handle (the storage picks another if that one is taken)."""
    field = _mask_field()
    name = field.generate_filename(SegmentationMask(handle=handle), f"{handle[:2]}/{handle}")
    content.seek(0)
    return field.storage.save(name, content, max_length=field.max_length)


def _delete_bytes(names: Iterable[str]) -> None:
    storage = _mask_field().storage
    for name in names:
        if name:
            storage.delete(name)


def segmentation_masks_release(*, mask_ids: Iterable[int]) -> None:
    """Delete the masks of ``mask_ids`` that no layer uses, and their bytes once that has committed."""
    in_use = SegmentationLayer.objects.filter(mask=OuterRef("pk"))
    for mask in SegmentationMask.objects.filter(pk__in=set(mask_ids)).filter(~Exists(in_use)):
        try:
            with transaction.atomic():
                mask.delete()
        except (IntegrityError, ProtectedError):  # a layer took it meanwhile
            continue
        transaction.on_commit(partial(_delete_bytes, [mask.file.name]))


_released = threading.local()


def _pending() -> set[int]:
    if not hasattr(_released, "mask_ids"):
        _released.mask_ids = set()
    return _released.mask_ids


def _release_pending() -> None:
    # One transaction may delete thousands of layers: the first callback releases them all at once, the
    # rest find nothing left. Ids left over by a rolled-back transaction are checked like any other.
    mask_ids = set(_pending())
    _pending().clear()
    if mask_ids:
        segmentation_masks_release(mask_ids=mask_ids)


def release_after_commit(mask_ids: Iterable[int]) -> None:
    _pending().update(mask_ids)
    transaction.on_commit(_release_pending)


@receiver(post_delete, sender=SegmentationLayer, dispatch_uid="workspaces.segmentation_layer_deleted")
def _layer_deleted(sender, instance: SegmentationLayer, **kwargs) -> None:
    # Layers go by cascade from their label, file or dataset, wherever those are deleted (the file and
    # dataset services, the admin); this receiver is the one place that sees every such delete.
    release_after_commit([instance.mask_id])


def _mask_with(handle: str, size: int, content, written: list[str]) -> SegmentationMask:
    """The mask of ``handle``, locked until the transaction ends; made (its bytes written first, into
    ``written``) when no mask has these bytes."""
    mask = SegmentationMask.objects.select_for_update().filter(handle=handle).first()
    if mask is not None:
        return mask
    if not written:
        written.append(_write(content, handle))
    try:
        with transaction.atomic():
            return SegmentationMask.objects.create(handle=handle, file=written[0], size=size)
    except IntegrityError:  # a concurrent upload of the same bytes made it first
        return SegmentationMask.objects.select_for_update().get(handle=handle)


# --- layers ----------------------------------------------------------------------------------------------


def segmentation_layer(*, dataset: Dataset, filename: str, label: str) -> SegmentationMask:
    """The mask of a file's layer for ``label``; 404 for a file or label the dataset lacks, or no layer."""
    datafile = dataset_file_get(dataset=dataset, filename=filename)
    label_row = _label(dataset, label, error=NotFound)
    layer = SegmentationLayer.objects.filter(file=datafile, label=label_row).select_related("mask").first()
    if layer is None:
        raise NotFound(
            f"{filename[:200]!r} has no layer for {label[:200]!r}.",
            code="no_layer",
            problems=[Problem(path="label", code="no_layer", message="no mask has been set for this label")],
        )
    return layer.mask


def segmentation_layer_set(*, dataset: Dataset, filename: str, label: str, content) -> SegmentationLayer:
    """Set (or replace) the mask of a file's layer for ``label``: 404 for a file the dataset lacks, 422 for
    a label it lacks. The replaced mask is released."""
    ensure_active(dataset)
    datafile = dataset_file_get(dataset=dataset, filename=filename)
    _label(dataset, label, error=InvalidRequest)
    handle, size = _content_handle(content)
    written: list[str] = []
    if not SegmentationMask.objects.filter(handle=handle).exists():
        written.append(_write(content, handle))  # bytes before the row that points at them
    try:
        with transaction.atomic():
            dataset_lock(dataset)
            label_row = _label(dataset, label, error=InvalidRequest)  # again: the labels may have changed
            mask = _mask_with(handle, size, content, written)
            layer, created = SegmentationLayer.objects.select_for_update().get_or_create(
                file=datafile, label=label_row, defaults={"mask": mask}
            )
            if not created and layer.mask_id != mask.pk:
                release_after_commit([layer.mask_id])
                layer.mask = mask
                layer.save(update_fields=["mask"])
    except BaseException:
        _delete_bytes(written)
        raise
    if written and mask.file.name != written[0]:  # another mask had these bytes first
        _delete_bytes(written)
    return layer


# --- copy, merge, clear ------------------------------------------------------------------------------------


class SegmentationLayers:
    """Segmentation layers follow their files: the target gets the source's labels it lacks (after its
    own, in the source's order); a target file keeps its own layer for a label and takes the source's for
    the others, sharing the source's mask."""

    name = "segmentation_layers"

    def merge(self, *, source: Dataset, target: Dataset, pairs: FilePairs) -> None:
        labels = {row.text: row for row in SegmentationLabel.objects.filter(dataset=target)}
        position = max((row.position for row in labels.values()), default=-1) + 1
        new = []
        for text in SegmentationLabel.objects.filter(dataset=source).values_list("text", flat=True):
            if text not in labels:
                labels[text] = SegmentationLabel(dataset=target, text=text, position=position)
                new.append(labels[text])
                position += 1
        SegmentationLabel.objects.bulk_create(new)
        target_of: dict[int, DatasetFile] = {source_file.pk: target_file for source_file, target_file in pairs}
        if not target_of:
            return
        # Both datasets' layers are read whole (linear; no IN list of every file, which SQLite limits).
        have = set(SegmentationLayer.objects.filter(file__dataset=target).values_list("file_id", "label__text"))
        layers = []
        source_layers = SegmentationLayer.objects.filter(file__dataset=source).values_list(
            "file_id", "label__text", "mask_id"
        )
        for file_id, text, mask_id in source_layers:
            target_file = target_of.get(file_id)
            if target_file is not None and (target_file.pk, text) not in have:
                have.add((target_file.pk, text))
                layers.append(SegmentationLayer(file=target_file, label=labels[text], mask_id=mask_id))
        SegmentationLayer.objects.bulk_create(layers, batch_size=1000)

    def clear(self, *, dataset: Dataset) -> None:
        SegmentationLayer.objects.filter(file__dataset=dataset).delete()


annotation_kind_register(SegmentationLayers())
