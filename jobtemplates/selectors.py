"""Reads of templates and jobs, with the caller's visibility and the joins each read needs declared."""

from __future__ import annotations

from functools import lru_cache

from django.db.models import Q, QuerySet

from contracts.types import Type, accepts, parse_type
from jobtemplates.models import Job, JobOutput, JobTemplate, TemplateScope
from workspaces.selectors import member_project_ids

# How many (accepted type string, given type) verdicts matching remembers (a few hundred distinct
# type strings exist in practice).
SUBTYPE_CACHE_SIZE = 8192


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
    candidates; templates sharing the accepted types of the asked inputs are judged once, and each
    (accepted type string, given type) pair once per process (``slot_type_accepts``); the pks of the
    matching ones come back in order, to be loaded in full (all, or a window).
    """
    candidates = template_visible_to(user=user).filter(deletion_time__isnull=True, contract_name=contract)
    asked = list(inputs.items())
    verdicts: dict[tuple, bool] = {}
    matching = []
    for pk, contract_inputs in candidates.values_list("pk", "contract_inputs"):
        # Only the asked inputs' accepted types decide; None: the template has no such input.
        key = tuple(_accepted_types(contract_inputs, name) for name, _ in asked)
        verdict = verdicts.get(key)
        if verdict is None:
            verdict = verdicts[key] = all(
                accepted is not None and any(slot_type_accepts(text, declared) for text in accepted)
                for accepted, (_, declared) in zip(key, asked, strict=True)
            )
        if verdict:
            matching.append(pk)
    return sorted(matching)


def _accepted_types(contract_inputs: dict, name: str) -> tuple[str, ...] | None:
    accepted = contract_inputs.get(name)
    return None if accepted is None else tuple(accepted)


@lru_cache(maxsize=SUBTYPE_CACHE_SIZE)
def slot_type_accepts(accepted: str, declared: Type) -> bool:
    """Whether ``declared`` is a subtype of the type string ``accepted`` (a stored contract input type).

    Kept for the process: subtyping reads only the type classes, registered at import and never
    changed, and the type values themselves (a resident type's rows play no part), so a verdict
    cannot go stale. Bounded: the least recently asked pairs go first.
    """
    return accepts([parse_type(accepted)], declared)


def templates_in_full(*, user, pks: list[int]) -> list[JobTemplate]:
    """The templates of ``pks`` visible to ``user``, with everything the representation reads, in pk order."""
    return list(template_list(user=user).filter(pk__in=pks).order_by("pk"))
