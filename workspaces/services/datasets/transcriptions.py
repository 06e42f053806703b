"""Speech transcriptions: one text per file, as UFDL's ``Transcription`` (``{"transcription": …}``) and
``TranscriptionsFile`` (``{file: {"transcription": …}}``)."""

from __future__ import annotations

from config.errors import InvalidRequest, Problem
from workspaces.models import Dataset, Transcription
from workspaces.selectors import dataset_file_get
from workspaces.services.datasets.files import ensure_active

TRANSCRIPTION_MAX_LENGTH = 1024 * 1024


def dataset_transcriptions(*, dataset: Dataset) -> dict[str, dict[str, str]]:
    rows = Transcription.objects.filter(file__dataset=dataset).order_by("file__filename")
    return {filename: {"transcription": text} for filename, text in rows.values_list("file__filename", "text")}


def dataset_transcription(*, dataset: Dataset, filename: str) -> dict[str, str]:
    """The file's transcription (``""`` when it has none); 404 for a file the dataset lacks."""
    datafile = dataset_file_get(dataset=dataset, filename=filename)
    row = Transcription.objects.filter(file=datafile).first()
    return {"transcription": row.text if row is not None else ""}


def dataset_transcription_set(*, dataset: Dataset, filename: str, transcription: str) -> dict[str, str]:
    """Set the file's transcription; 404 for a file the dataset lacks (UFDL stored it anyway)."""
    ensure_active(dataset)
    if len(transcription) > TRANSCRIPTION_MAX_LENGTH:
        raise InvalidRequest(
            problems=[
                Problem(path="transcription", code="too_long", message=f"at most {TRANSCRIPTION_MAX_LENGTH} characters")
            ]
        )
    datafile = dataset_file_get(dataset=dataset, filename=filename)
    Transcription.objects.update_or_create(file=datafile, defaults={"text": transcription})
    return {"transcription": transcription}
