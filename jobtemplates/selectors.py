"""Reads of templates and jobs, with the caller's visibility and the joins each read needs declared; the jobs
the runners (workers, nodes) hold."""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import lru_cache

from django.db.models import Prefetch, Q, QuerySet
from django.db.models.fields.json import KT

from contracts.types import Type, accepts, parse_type
from jobtemplates.models import Job, JobOutput, JobStatus, JobTemplate, TemplateScope
from jobtemplates.models.templates import TemplateQuerySet
from runners.models import Node, Worker
from runners.selectors import node_list
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
    visible = template_visible_to(user=user)
    assert isinstance(visible, TemplateQuerySet)  # JobTemplate.objects' queryset, filtered
    return visible.select_related("domain", "licence", "project").with_content()


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


def template_matching(*, user, contract: str, inputs: dict[str, Type]) -> QuerySet:
    """Active visible templates of ``contract`` whose contract inputs accept every given input type.

    Answered from the stored ``contract_inputs`` (written at import), in SQL: one query lists the
    distinct accepted types of the asked inputs among the candidates (a few, however many templates
    share them), each is judged once, and each (accepted type string, given type) pair once per process
    (``slot_type_accepts``); the queryset keeps the candidates whose accepted types are among those
    judged to match (no list of pks). Without asked inputs, every candidate matches.
    """
    candidates = template_visible_to(user=user).filter(deletion_time__isnull=True, contract_name=contract)
    if not inputs:
        return candidates
    asked = list(inputs.items())
    # Each asked input's accepted types, as the JSON text of the stored list (None: no such input).
    columns = {f"accepted_{index}": KT(f"contract_inputs__{name}") for index, (name, _) in enumerate(asked)}
    annotated = candidates.annotate(**columns)
    matching = Q(pk__in=[])
    for texts in annotated.order_by().values_list(*columns).distinct():
        if all(
            text is not None and any(slot_type_accepts(accepted, declared) for accepted in _accepted_types(text))
            for text, (_, declared) in zip(texts, asked, strict=True)
        ):
            matching |= Q(**dict(zip(columns, texts, strict=True)))
    return annotated.filter(matching)


def template_matching_pks(*, user, contract: str, inputs: dict[str, Type]) -> list[int]:
    """The pks of ``template_matching``, in order."""
    return sorted(template_matching(user=user, contract=contract, inputs=inputs).values_list("pk", flat=True))


def _accepted_types(text: str) -> list[str]:
    accepted = json.loads(text)
    return accepted if isinstance(accepted, list) else [accepted]


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


# The jobs runners hold ----------------------------------------------------------------------------

# A node holds a job from acquiring it until it finishes (it may still be "created" while it starts).
NODE_HOLDING_STATUSES = (JobStatus.CREATED, JobStatus.RUNNING)


def worker_current_jobs(*, names: Iterable[str]) -> dict[str, list[int]]:
    """Worker name → the pks of the running jobs it runs (ascending), for the workers ``names`` (one
    query; a worker running nothing is absent)."""
    names = list(names)
    current: dict[str, list[int]] = {}
    if not names:
        return current
    rows = Job.objects.filter(status=JobStatus.RUNNING, worker__in=names).order_by("pk").values_list("worker", "pk")
    for name, pk in rows:
        current.setdefault(name, []).append(pk)
    return current


def workers_with_current_jobs(workers: Iterable[Worker]) -> list[Worker]:
    """``workers``, each given ``current_jobs`` (pks of its running jobs) in one query for them all."""
    workers = list(workers)
    current = worker_current_jobs(names=[worker.name for worker in workers])
    for worker in workers:
        worker.current_jobs = current.get(worker.name, [])
    return workers


def nodes_with_jobs() -> QuerySet[Node]:
    """``runners.selectors.node_list`` with each node's ``current_jobs``: the jobs it holds (created or
    running), pk order, in one more query for the whole list."""
    holding = Job.objects.filter(status__in=NODE_HOLDING_STATUSES).only("pk", "node_id")
    return node_list().prefetch_related(Prefetch("jobs", queryset=holding.order_by("pk"), to_attr="current_jobs"))


def node_held_job_id(node: Node) -> int | None:
    """The job ``node`` holds now (created or running), read afresh: the lowest pk if, against the
    rules, it holds several."""
    held = Job.objects.filter(node=node, status__in=NODE_HOLDING_STATUSES).order_by("pk")
    return held.values_list("pk", flat=True).first()
