"""What an executor gets: its inputs and parameters, progress, cancellation, outputs, a log, scratch space,
and datasets (reading an input dataset's files, creating a dataset as the job's creator)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from contracts.types import is_subtype, parse_type


class JobCancelled(Exception):
    """Raised by ``ctx.raise_if_cancelled()``: the job was cancelled while running."""


@dataclass(frozen=True)
class OutputFile:
    """An input given as a job output (``JobOutput<…>``): its stored file, readable as bytes or a path."""

    pk: int
    name: str
    type: str
    job_id: int
    path: Path

    def read_bytes(self) -> bytes:
        return self.path.read_bytes()


class LocalFile(NamedTuple):
    """One file of a dataset, by its relative name (``cat/001.png``), readable at a local path."""

    filename: str
    path: Path


# What ``ctx.create_dataset`` takes as files: (relative name, bytes or a local file's path) pairs.
NewDatasetFiles = Iterable[tuple[str, bytes | Path]]


class CapturingHandler(logging.Handler):
    """Keeps the job's log lines, stored as its ``log`` output when the run ends."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


JOBS_LOGGER = logging.getLogger("jobs")


def job_logger(job_id: int) -> tuple[logging.Logger, CapturingHandler]:
    """A job's own logger (``jobs.<id>``, at INFO) and the handler that keeps its lines.

    The logger is not registered with the logging module (``logging.getLogger`` keeps every logger it
    made for the life of the process, so a logger per job grew without end): it is a plain instance
    whose parent is ``jobs``, so its records still reach the worker's own handlers, and it goes away
    with the run.
    """
    logger = logging.Logger(f"jobs.{job_id}", logging.INFO)
    logger.parent = JOBS_LOGGER
    handler = CapturingHandler()
    logger.addHandler(handler)
    return logger, handler


class ExecutionContext:
    """The executor's view of its job. Everything goes through here; executors never touch models."""

    def __init__(
        self,
        *,
        job_id: int,
        inputs: Mapping[str, Any],
        parameters: Mapping[str, Any],
        outputs: Mapping[str, str],
        scratch_dir: Path,
        cancelled: threading.Event,
        write: Callable[[str, str, Any], Any],
        logger: logging.Logger,
        dataset_files: Callable[[Any], Iterable[LocalFile]] | None = None,
        dataset_categories: Callable[[Any], Mapping[str, list[str]]] | None = None,
        create_dataset: Callable[..., int] | None = None,
    ) -> None:
        self.job_id = job_id
        self.inputs = dict(inputs)
        self.parameters = dict(parameters)
        self.scratch_dir = scratch_dir
        self.log = logger
        self._declared_outputs = dict(outputs)
        self._cancelled = cancelled
        self._write = write
        self._dataset_files = dataset_files
        self._dataset_categories = dataset_categories
        self._create_dataset = create_dataset
        self._progress_lock = threading.Lock()
        self._progress: tuple[float, dict[str, Any]] | None = None
        self.written: dict[str, str] = {}

    def progress(self, fraction: float, **data: Any) -> None:
        """Report progress in [0, 1] with optional JSON data; written to the job at a throttled pace."""
        fraction = min(1.0, max(0.0, float(fraction)))
        with self._progress_lock:
            self._progress = (fraction, data)

    def take_progress(self) -> tuple[float, dict[str, Any]] | None:
        """The progress reported since the last call (for the runner's writer)."""
        with self._progress_lock:
            progress, self._progress = self._progress, None
        return progress

    def cancelled(self) -> bool:
        """True once the job was cancelled: stop soon (the worker terminates the run after a grace period)."""
        return self._cancelled.is_set()

    def raise_if_cancelled(self) -> None:
        if self._cancelled.is_set():
            raise JobCancelled()

    def write_output(self, name: str, data: Any, *, type: str | None = None) -> None:  # noqa: A002
        """Store an output. A contract output takes the contract's type (or a given subtype of it);
        any other output needs an explicit ``type``. JSON types take a JSON value; binary types bytes,
        a file path or a file object."""
        declared = self._declared_outputs.get(name)
        if type is None:
            if declared is None:
                raise ValueError(f"output {name!r} is not in the contract; pass its type=")
            type = declared
        elif declared is not None and not is_subtype(parse_type(type), parse_type(declared)):
            raise ValueError(f"output {name!r} must be a {declared}, not {type}")
        self._write(name, type, data)
        self.written[name] = str(parse_type(type))

    def dataset_files(self, dataset: Any) -> Iterator[LocalFile]:
        """The files of ``dataset`` (the row an input gave), in name order, each at a local path (a copy
        in the scratch folder when the storage is remote). Read them; do not modify or delete them."""
        if self._dataset_files is None:
            raise NotImplementedError("this context was built without dataset access")
        yield from self._dataset_files(dataset)

    def dataset_categories(self, dataset: Any) -> dict[str, list[str]]:
        """The classification categories of ``dataset``'s files (``{filename: [label, …]}``; files without
        any are left out, and a dataset without categories gives ``{}``)."""
        if self._dataset_categories is None:
            raise NotImplementedError("this context was built without dataset access")
        return dict(self._dataset_categories(dataset))

    def create_dataset(
        self,
        *,
        name: str,
        files: NewDatasetFiles,
        like: Any,
        description: str = "",
        categories: Mapping[str, list[str]] | None = None,
    ) -> int:
        """Create a dataset owned by the job's creator, with the next free version of ``name``, holding
        ``files`` (and, for a classification dataset, ``categories`` of them: ``{filename: [label]}``);
        it takes ``like``'s domain and licence, is public only if ``like`` is, and stays in ``like``'s
        project when the creator may add datasets there. Returns the new dataset's pk. Nothing is left
        behind if storing a file fails or the job is cancelled meanwhile."""
        if self._create_dataset is None:
            raise NotImplementedError("this context was built without dataset access")
        return self._create_dataset(name=name, files=files, like=like, description=description, categories=categories)
