"""The ``JobOutput`` binding: a ``JobOutput<T>`` value is the pk of a visible output whose type is a subtype of T.

Registered by the jobtemplates app (``register_job_output_binding`` from ``ready()``), so the
contracts app never imports jobtemplates.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from contracts.resident import (
    ResidentBinding,
    RowMismatch,
    any_of,
    binding_for,
    has_binding,
    iso_time,
    register_resident,
)
from contracts.types import TYPE_CLASSES, NamedType, Type, TypeParseError, is_subtype, parse_type


def stored_type_fits(stored: str, content: Type) -> bool:
    """Whether an output stored with type string ``stored`` is a value of ``JobOutput<content>``."""
    try:
        return is_subtype(parse_type(stored), content)
    except TypeParseError:
        return False  # a type that no longer parses (a type removed from code) fits nothing


def outputs_of_content(outputs: QuerySet, type_: NamedType) -> QuerySet:
    """The outputs of ``outputs`` whose stored type is a subtype of ``type_``'s content.

    Subtyping is not SQL, so the distinct stored types are read first (a handful, whatever the number
    of outputs) and checked here. Only types whose class derives from the content's class can fit,
    which narrows that read to the candidates by their leading name.
    """
    from jobtemplates.models import JobOutput

    content = type_.args[0]
    assert isinstance(content, NamedType)  # never a literal: JobOutput's parameter refuses literals
    content_class = content.type_class
    candidates = [name for name, cls in TYPE_CLASSES.items() if content_class.name in cls.ancestors]
    by_name = any_of(Q(type=name) | Q(type__startswith=f"{name}<") for name in candidates)
    stored_types = JobOutput.objects.filter(by_name).order_by().values_list("type", flat=True).distinct()
    fitting = [stored for stored in stored_types if stored_type_fits(stored, content)]
    return outputs.filter(type__in=fitting)


def output_mismatch(output, type_: NamedType) -> RowMismatch | None:
    content = type_.args[0]
    if stored_type_fits(output.type, content):
        return None
    return RowMismatch(
        "wrong_output_type",
        f"job output {output.pk} is of type {output.type}, which is not a sub-type of {content}",
    )


def outputs_visible(outputs: QuerySet, user) -> QuerySet:
    """Outputs of jobs ``user`` may see (the jobs resource's rule)."""
    from jobtemplates.selectors import job_output_visible_to

    return job_output_visible_to(user=user, queryset=outputs)


def job_output_value(output) -> dict[str, Any]:
    return {
        "pk": output.pk,
        "job": output.job_id,
        "name": output.name,
        "type": output.type,
        "size": output.size,
        "creation_time": iso_time(output.creation_time),
    }


def register_job_output_binding() -> ResidentBinding:
    """Bind ``JobOutput`` to ``jobtemplates.JobOutput`` (idempotent: a second call changes nothing)."""
    if has_binding("JobOutput"):
        return binding_for("JobOutput")
    return register_resident(
        ResidentBinding(
            "JobOutput",
            "jobtemplates.JobOutput",
            resource="job-outputs",
            noun="job output",
            row_value=job_output_value,
            visible=outputs_visible,
            narrow=outputs_of_content,
            row_mismatch=output_mismatch,
        )
    )
