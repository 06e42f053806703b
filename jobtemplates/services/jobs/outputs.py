"""Job outputs: written by the runner through Django's storage, surfaced on parents, removed on abort."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterable
from typing import Any

from django.core.files.base import ContentFile, File
from django.db import transaction

from config.errors import Conflict, InvalidRequest, Problem, join_path
from contracts.types import NamedType, Type, is_json_type, parse_type, validate_value
from jobtemplates.models import Job, JobOutput

COMPRESSED_MEMBER = "data"


def encode_output(output_type: Type, data: Any) -> bytes | File:
    """Bytes to store for a value of ``output_type`` (types-and-contracts.md §5): JSON types as UTF-8
    JSON (the value validated first), ``Compressed`` as a zip with one member ``data``, binary types as
    given (bytes, a str path's file, or a file object)."""
    if is_json_type(output_type):
        problems = validate_value(output_type, data)
        if problems:
            detail = "; ".join(f"{p.path or 'value'}: {p.message}" for p in problems[:5])
            raise InvalidRequest(f"not a valid {output_type} value: {detail}", code="invalid_output")
        return json.dumps(data, ensure_ascii=False).encode("utf-8")
    if isinstance(output_type, NamedType) and output_type.name == "Compressed":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(COMPRESSED_MEMBER, _as_bytes(data))
        return buffer.getvalue()
    if isinstance(data, bytes | bytearray | memoryview):
        return bytes(data)
    if isinstance(data, str):
        return File(open(data, "rb"))  # noqa: SIM115 - closed by job_output_write
    if hasattr(data, "read"):
        return File(data)
    raise InvalidRequest(f"{output_type} outputs are bytes, a file path or a file object", code="invalid_output")


def _as_bytes(data: Any) -> bytes:
    if isinstance(data, bytes | bytearray | memoryview):
        return bytes(data)
    if isinstance(data, str):
        with open(data, "rb") as handle:
            return handle.read()
    return data.read()


def decode_json_output(output: JobOutput) -> Any:
    with output.file.open("rb") as handle:
        return json.loads(handle.read().decode("utf-8"))


def job_output_write(*, job: Job, name: str, output_type: str, data: Any) -> JobOutput:
    """Store an output (replacing one of the same name and type written earlier in this run)."""
    parsed = parse_type(output_type)
    content = encode_output(parsed, data)
    canonical = str(parsed)
    try:
        with transaction.atomic():
            existing = JobOutput.objects.filter(job=job, name=name, type=canonical).first()
            if existing is not None:
                existing.file.delete(save=False)
                existing.delete()
            output = JobOutput(job=job, name=name, type=canonical)
            stored = content if isinstance(content, File) else ContentFile(content)
            output.file.save(f"{name.replace(':', '_')}", stored, save=False)
            output.size = output.file.size
            output.save()
    finally:
        if isinstance(content, File):
            content.close()
    return output


def job_output_prepare(*, job_id: int, name: str, output_type: str, data: Any) -> JobOutput:
    """An output's file stored now, its row not yet saved (:func:`job_outputs_insert` saves the rows of a
    run together, with the run's end). Discard one that is not saved with :func:`job_outputs_discard`."""
    parsed = parse_type(output_type)
    content = encode_output(parsed, data)
    output = JobOutput(job_id=job_id, name=name, type=str(parsed))
    try:
        stored = content if isinstance(content, File) else ContentFile(content)
        output.file.save(f"{name.replace(':', '_')}", stored, save=False)
        output.size = output.file.size
    finally:
        if isinstance(content, File):
            content.close()
    return output


def job_outputs_insert(*, job_id: int, outputs: list[JobOutput], replace: bool = False) -> None:
    """Save prepared outputs of a job in one statement (inside the caller's transaction). ``replace``:
    rows of the same names and types may exist (an earlier attempt's): they and their files go first."""
    if not outputs:
        return
    if replace:
        names = {(output.name, output.type) for output in outputs}
        for existing in JobOutput.objects.filter(job_id=job_id, name__in={name for name, _ in names}):
            if (existing.name, existing.type) in names:
                existing.file.delete(save=False)
                existing.delete()
    JobOutput.objects.bulk_create(outputs)


def job_outputs_discard(outputs: Iterable[JobOutput]) -> None:
    """Remove the stored files of prepared outputs that will not be saved."""
    for output in outputs:
        if output.pk is None and output.file:
            output.file.delete(save=False)


def job_output_store(*, job: Job, name: str, output_type: Type, content: File) -> JobOutput:
    """Store an output's bytes as a node sent them, already in the stored form of ``output_type`` (a
    JSON type's value as UTF-8 JSON, checked against the type; a Compressed one zipped)."""
    if is_json_type(output_type):
        content.seek(0)
        try:
            value = json.loads(content.read().decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as error:
            raise InvalidRequest(f"a {output_type} output must be JSON: {error}", code="invalid_output") from error
        problems = validate_value(output_type, value)
        if problems:
            raise InvalidRequest(
                f"not a valid {output_type} value",
                code="invalid_output",
                problems=[Problem(join_path("body", p.path), p.keyword, p.message) for p in problems[:20]],
            )
        content.seek(0)
    with transaction.atomic():
        output = JobOutput(job=job, name=name, type=str(output_type))
        output.file.save(f"{name.replace(':', '_')}", content, save=False)
        output.size = output.file.size
        output.save()
    return output


def job_outputs_surface(*, parent: Job, children: Iterable[Job]) -> list[JobOutput]:
    """Show finished children's outputs on their parent as ``child:output`` (sharing the stored files).

    Only outputs not shown yet are read, in one query whatever the number of children: a meta-job
    advances after each child, so re-reading every finished child's outputs made a chain of n
    children cost O(n²) queries under the parent's row lock.
    """
    child_names = {child.pk: child.child_name for child in children}
    if not child_names:
        return []
    shown = JobOutput.objects.filter(job=parent, source__isnull=False).values("source_id")
    new = (
        JobOutput.objects.filter(job_id__in=child_names, deletion_time__isnull=True)
        .exclude(pk__in=shown)
        .order_by("pk")
    )
    surfaced = [
        JobOutput(
            job=parent,
            name=f"{child_names[output.job_id]}:{output.name}",
            type=output.type,
            file=output.file.name,
            size=output.size,
            source=output,
        )
        for output in new
    ]
    # A row of that name and type may exist already (a child that ran again): it stays.
    return JobOutput.objects.bulk_create(surfaced, ignore_conflicts=True)


def job_outputs_remove(*, job: Job) -> int:
    """Delete a job's outputs and their files (abort: the job will run again)."""
    removed = 0
    for output in job.outputs.all():
        if output.source_id is None and not output.surfaced_as.exists():
            output.file.delete(save=False)
        output.delete()
        removed += 1
    return removed


def job_output_delete(*, output: JobOutput) -> None:
    """Admin removal of one output; refused while a parent still shows it."""
    if output.surfaced_as.filter(deletion_time__isnull=True).exists():
        raise Conflict(
            "This output is shown on a parent job; delete it there first.",
            code="referenced",
            problems=[Problem(path="", code="referenced", message="surfaced on a parent job")],
        )
    if output.source_id is None:
        output.file.delete(save=False)
    output.delete()
