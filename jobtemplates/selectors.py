"""Reads of templates and jobs, with the caller's visibility and the joins each read needs declared."""

from __future__ import annotations

import json

from django.db.models import Q, QuerySet

from contracts.types import Type, accepts, parse_type
from jobtemplates.models import Job, JobOutput, JobTemplate, TemplateScope
from workspaces.selectors import member_project_ids


def template_visible_q(user, prefix: str = "") -> Q:
    """Templates ``user`` may see: public ones, their own ``user``-scoped ones, and ``project``-scoped ones
    of the projects whose team they are an active member of.

    ``prefix`` applies the rule through a relation (``"template__"`` for jobs). Admins see everything
    (callers skip the filter for them).
    """
    if user is None or not user.is_authenticated:
        return Q(pk__in=[])
    return (
        Q(**{f"{prefix}scope": TemplateScope.PUBLIC})
        | Q(**{f"{prefix}scope": TemplateScope.USER, f"{prefix}creator": user})
        | Q(**{f"{prefix}scope": TemplateScope.PROJECT, f"{prefix}project__in": member_project_ids(user)})
    )


def template_visible_to(*, user, queryset: QuerySet | None = None) -> QuerySet:
    """Templates ``user`` may see; ``user=None`` is the system itself (commands, workers): all of them."""
    queryset = JobTemplate.objects.all() if queryset is None else queryset
    if user is None or user.is_staff:
        return queryset
    return queryset.filter(template_visible_q(user))


def template_list(*, user) -> QuerySet:
    """Visible templates (soft-deleted included: callers decide) with everything the representation reads."""
    return template_visible_to(user=user).select_related("domain", "licence", "project").with_content()


def job_visible_q(user, prefix: str = "") -> Q:
    """Jobs ``user`` may see: their own, and those of projects whose team they are an active member of
    (admins: all). Not every job of a template they can see: a job names its datasets and its outputs
    are derived from them."""
    if user is None or not user.is_authenticated:
        return Q(pk__in=[])
    return Q(**{f"{prefix}creator": user}) | Q(**{f"{prefix}project__in": member_project_ids(user)})


def job_visible_to(*, user, queryset: QuerySet | None = None) -> QuerySet:
    """Jobs ``user`` may see; ``user=None`` is the system itself: all of them."""
    queryset = Job.objects.all() if queryset is None else queryset
    if user is None or user.is_staff:
        return queryset
    return queryset.filter(job_visible_q(user))


def job_output_visible_to(*, user, queryset: QuerySet | None = None) -> QuerySet:
    """Job outputs ``user`` may see (through their job); ``user=None``: all of them."""
    queryset = JobOutput.objects.all() if queryset is None else queryset
    if user is None or user.is_staff:
        return queryset
    return queryset.filter(job_visible_q(user, prefix="job__"))


def template_matching_pks(*, user, contract: str, inputs: dict[str, Type]) -> list[int]:
    """Active visible templates of ``contract`` whose contract inputs accept every given input type.

    Answered from the stored ``contract_inputs`` (written at import): one light query finds the
    candidates, templates sharing an input signature are checked once (type strings come from the
    parse cache); the pks of the matching ones come back in order, to be loaded in full (all, or a window).
    """
    candidates = template_visible_to(user=user).filter(deletion_time__isnull=True, contract_name=contract)
    verdicts: dict[str, bool] = {}
    matching = []
    for pk, contract_inputs in candidates.values_list("pk", "contract_inputs"):
        key = json.dumps(contract_inputs, sort_keys=True)
        if key not in verdicts:
            verdicts[key] = all(
                name in contract_inputs and accepts([parse_type(text) for text in contract_inputs[name]], declared)
                for name, declared in inputs.items()
            )
        if verdicts[key]:
            matching.append(pk)
    return sorted(matching)


def templates_in_full(*, user, pks: list[int]) -> list[JobTemplate]:
    """The templates of ``pks`` visible to ``user``, with everything the representation reads, in pk order."""
    return list(template_list(user=user).filter(pk__in=pks).order_by("pk"))
