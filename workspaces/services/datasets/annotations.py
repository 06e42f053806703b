"""The annotation kinds of datasets (categories, transcriptions, …): how each follows its files when a
dataset is copied or merged, and how it is cleared.

A kind registers once; copy, merge and clear then treat every kind the same way, so a new domain's
annotations are one ``annotation_kind_register`` call.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from workspaces.models import Category, Dataset, DatasetFile, Transcription

FilePairs = Sequence[tuple[DatasetFile, DatasetFile]]
"""(source file, target file) pairs: the target received (or already had) the source's content."""


class AnnotationKind(Protocol):
    name: str

    def merge(self, *, source: Dataset, target: Dataset, pairs: FilePairs) -> None:
        """Add the annotations of each pair's source file (and the source dataset's own) to the target's."""

    def clear(self, *, dataset: Dataset) -> None:
        """Remove every annotation of this kind from ``dataset``."""


class Categories:
    """Image- and spectrum-classification labels: merged as a union per file."""

    name = "categories"

    def merge(self, *, source: Dataset, target: Dataset, pairs: FilePairs) -> None:
        # Read both datasets' categories whole (two linear queries; no IN list of every file).
        target_of = {source_file.pk: target_file for source_file, target_file in pairs}
        existing = set(Category.objects.filter(file__dataset=target).values_list("file_id", "label"))
        new = []
        for file_id, label in (
            Category.objects.filter(file__dataset=source).order_by("pk").values_list("file_id", "label")
        ):
            target_file = target_of.get(file_id)
            if target_file is not None and (target_file.pk, label) not in existing:
                existing.add((target_file.pk, label))
                new.append(Category(file=target_file, label=label))
        Category.objects.bulk_create(new, batch_size=1000)

    def clear(self, *, dataset: Dataset) -> None:
        Category.objects.filter(file__dataset=dataset).delete()


class Transcriptions:
    """Speech transcriptions: a target file keeps its own; one without takes the source's."""

    name = "transcriptions"

    def merge(self, *, source: Dataset, target: Dataset, pairs: FilePairs) -> None:
        target_of = {source_file.pk: target_file for source_file, target_file in pairs}
        transcribed = set(Transcription.objects.filter(file__dataset=target).values_list("file_id", flat=True))
        Transcription.objects.bulk_create(
            (
                Transcription(file=target_of[file_id], text=text)
                for file_id, text in Transcription.objects.filter(file__dataset=source).values_list("file_id", "text")
                if file_id in target_of and target_of[file_id].pk not in transcribed
            ),
            batch_size=1000,
        )

    def clear(self, *, dataset: Dataset) -> None:
        Transcription.objects.filter(file__dataset=dataset).delete()


_kinds: list[AnnotationKind] = [Categories(), Transcriptions()]


def annotation_kind_register(kind: AnnotationKind) -> AnnotationKind:
    if all(existing.name != kind.name for existing in _kinds):
        _kinds.append(kind)
    return kind


def annotation_kinds() -> tuple[AnnotationKind, ...]:
    return tuple(_kinds)
