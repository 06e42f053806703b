"""The end of a job's log, read from the end of its file (a log can be far larger than what a page shows).

The runner stores a run's log as the job output ``log`` of type ``BLOB<'log'>`` (executors.runner); a page
shows its last lines without reading the rest: one seek and one read of at most ``max_bytes``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models.fields.files import FieldFile

from jobtemplates.models import Job, JobOutput

# The output the runner stores a run's log as (executors.runner.LOG_OUTPUT; executors depends on us).
LOG_OUTPUT_NAME, LOG_OUTPUT_TYPE = "log", "BLOB<'log'>"
TAIL_LINES = 200
TAIL_BYTES = 64 * 1024


@dataclass(frozen=True)
class LogTail:
    """The last lines of a log; ``truncated``: earlier lines exist that are not shown."""

    text: str
    size: int
    truncated: bool


def job_log_output(*, job: Job) -> JobOutput | None:
    """The job's log output (one query), or None: not run yet, or a meta-job (its children have logs)."""
    return (
        JobOutput.objects.filter(job=job, name=LOG_OUTPUT_NAME, type=LOG_OUTPUT_TYPE, deletion_time__isnull=True)
        .order_by("-pk")
        .first()
    )


def log_tail(file: FieldFile, *, max_lines: int = TAIL_LINES, max_bytes: int = TAIL_BYTES) -> LogTail:
    """The last ``max_lines`` lines of ``file`` among its last ``max_bytes`` bytes (a line cut by that
    window is left out, unless it is the only one), decoded as UTF-8 with bad bytes replaced."""
    size = file.size
    start = max(0, size - max_bytes)
    with file.open("rb") as handle:
        handle.seek(start)
        window = handle.read(max_bytes)
    if start > 0 and b"\n" in window:
        window = window[window.index(b"\n") + 1 :]  # the rest of a line that began before the window
    lines = window.decode("utf-8", errors="replace").splitlines()
    return LogTail(text="\n".join(lines[-max_lines:]), size=size, truncated=start > 0 or len(lines) > max_lines)
