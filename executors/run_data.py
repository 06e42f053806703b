"""What a run's context reads and makes: given values resolved (rows, output files at local paths), an
input dataset's files at local paths, and new datasets created as the job's creator."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.files import File
from django.core.files.base import ContentFile

from config.errors import ApplicationError
from contracts.resident import resolve_value
from contracts.types import parse_type
from executors.context import JobCancelled, LocalFile, NewDatasetFiles, OutputFile
from jobtemplates.models import Job, JobOutput
from workspaces.models import Dataset, DatasetFile
from workspaces.services.datasets import (
    check_project_for_datasets,
    dataset_categories_set,
    dataset_create,
    dataset_file_upload,
    dataset_hard_delete,
)


def resolve_given(given: dict[str, Any], scratch: Path) -> Any:
    """What an executor receives for a given ``{value, type}``: rows, output files, or plain values."""
    declared = parse_type(given["type"])
    value = resolve_value(declared, given["value"], user=None)
    if isinstance(value, JobOutput):
        return OutputFile(
            pk=value.pk, name=value.name, type=value.type, job_id=value.job_id, path=_local_path(value, scratch)
        )
    return value


def _local_path(output: JobOutput, scratch: Path) -> Path:
    return _local_copy(output.file, scratch / "inputs" / f"{output.pk}-{output.name.replace(':', '_')}")


def _local_copy(stored: Any, target: Path) -> Path:
    """The stored file's own path on local storage, else a copy of it at ``target``."""
    try:
        return Path(stored.path)
    except NotImplementedError:  # remote storage (S3, …): fetch a copy into the scratch folder
        target.parent.mkdir(parents=True, exist_ok=True)
        with stored.open("rb") as source, target.open("wb") as copy:
            shutil.copyfileobj(source, copy, 1 << 20)
        return target


def dataset_local_files(dataset: Dataset, scratch: Path) -> Iterator[LocalFile]:
    """``ctx.dataset_files``: the dataset's files in name order, each at a local path."""
    # Listed up front: no database cursor stays open while the executor works on each file.
    for filename, stored in [
        (f.filename, f.file)
        for f in DatasetFile.objects.filter(dataset_id=dataset.pk).only("filename", "file").order_by("filename")
    ]:
        yield LocalFile(filename, _local_copy(stored, scratch / "datasets" / str(dataset.pk) / filename))


def dataset_create_for_job(
    *,
    job: Job,
    name: str,
    files: NewDatasetFiles,
    like: Dataset,
    description: str = "",
    categories: Mapping[str, list[str]] | None = None,
    stop: Callable[[], bool] = lambda: False,
) -> int:
    """``ctx.create_dataset``: a dataset owned by the job's creator, shaped after ``like`` (domain,
    licence, publicity; its project only when the creator may add datasets there), holding ``files``
    (and ``categories`` of them, for a classification dataset).

    Not one transaction: thousands of uploads would hold SQLite's write lock (and the watchdog's
    heartbeat) for their whole duration. Instead a failure or a cancellation (``stop()``) part-way
    hard-deletes the half-filled dataset, files included, and re-raises.
    """
    # The claim loaded only the creator's email (for notifications): the dataset services need the user.
    creator = get_user_model().objects.filter(pk=job.creator_id).first() if job.creator_id is not None else None
    project = like.project if creator is not None and _may_use_project(creator, like.project) else None
    dataset = dataset_create(
        creator=creator,
        name=name,
        domain=like.domain,
        licence=like.licence,
        description=description,
        project=project,
        is_public=like.is_public,
    )
    try:
        for filename, data in files:
            if stop():
                raise JobCancelled()
            content = ContentFile(data) if isinstance(data, bytes | bytearray) else File(Path(data).open("rb"))
            try:
                dataset_file_upload(dataset=dataset, filename=filename, content=content)
            finally:
                content.close()
        if categories:
            dataset_categories_set(dataset=dataset, categories=categories)
    except BaseException:
        dataset_hard_delete(dataset=dataset)
        raise
    return dataset.pk


def _may_use_project(user: Any, project: Any) -> bool:
    """Whether ``user`` may put a dataset into ``project`` (the dataset services' own rule)."""
    if project is None:
        return False
    try:
        check_project_for_datasets(user=user, project=project)
    except ApplicationError:
        return False
    return True
