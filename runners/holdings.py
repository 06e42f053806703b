"""What each runner holds now: the jobs a worker runs, the job a node holds.

The registry's pages (the admin's and ``/v1/workers``, ``/v1/nodes``) show them, but jobs belong to
``jobtemplates``, which builds on ``runners``: so ``runners`` reads them through the functions the jobs
app registers here when it starts (``JobTemplatesConfig.ready``), and imports nothing of it. Until
then a page asking for them is a programming error (``HoldingsMissing``), not an empty answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any


class HoldingsMissing(RuntimeError):
    """Nothing registered what runners hold (the jobs app is not installed or not ready)."""


@dataclass(frozen=True)
class Holdings:
    # Worker name → the pks of the running jobs it runs (ascending), for the given names: one query.
    worker_current_jobs: Callable[..., dict[str, list[int]]]
    # The workers, each given ``current_jobs`` (pks of its running jobs): one query for them all.
    workers_with_current_jobs: Callable[[Iterable[Any]], list[Any]]
    # The nodes (runners.selectors.node_list) with each one's ``current_jobs``: one more query.
    nodes_with_jobs: Callable[[], Any]
    # The pk of the job a node holds now (created or running), read afresh; None when it holds none.
    node_held_job_id: Callable[[Any], int | None]


_holdings: Holdings | None = None


def holdings_register(holdings: Holdings) -> None:
    global _holdings
    _holdings = holdings


def holdings() -> Holdings:
    if _holdings is None:
        raise HoldingsMissing("no app registered what runners hold (jobtemplates registers it when ready)")
    return _holdings
