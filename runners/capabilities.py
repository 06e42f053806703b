"""Can anything run this? A snapshot of the live fleet (3 queries) judged against a template's needs.

Pure beyond the snapshot's loading: ``Fleet.verdict`` reads only what ``Fleet.load`` fetched, so a
list of any length is judged in constant queries.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from contracts.models import Hardware
from runners.models import Node, Worker
from runners.packages import distributions_lookup, missing_from
from runners.routing import CELERY, NODE, NONE, resolved_queue, runner_for

NODE_PERMISSION = ("runners", "act_as_node")


@dataclass(frozen=True)
class Needs:
    """What one workable template needs of whatever runs it."""

    template: str  # "name vN", for reasons
    executor_class: str
    required_packages: str
    queue: str  # the Celery queue ("" = the default queue)
    min_hardware_generation: str = ""  # "" when it needs no GPU


@dataclass(frozen=True)
class Verdict:
    """Whether a template's jobs can run now: ``runner`` is who would run them (by the executor
    module: celery, node or none); ``reason`` says why they cannot (None when they can)."""

    runnable: bool
    runner: str  # celery | node | none
    reason: str | None = None

    @property
    def runnable_by(self) -> str:
        """Who can run it now: its runner, or ``none``."""
        return self.runner if self.runnable else NONE

    def as_dict(self) -> dict:
        return {"runnable": self.runnable, "runnable_by": self.runnable_by, "reason": self.reason}


def node_owner_q(prefix: str = "owner__") -> Q:
    """Users who may act as nodes: admins, and holders of ``runners.act_as_node`` (directly or by group)."""
    app_label, codename = NODE_PERMISSION
    permission = Q(
        **{
            f"{prefix}user_permissions__codename": codename,
            f"{prefix}user_permissions__content_type__app_label": app_label,
        }
    ) | Q(
        **{
            f"{prefix}groups__permissions__codename": codename,
            f"{prefix}groups__permissions__content_type__app_label": app_label,
        }
    )
    return Q(**{f"{prefix}is_active": True}) & (
        Q(**{f"{prefix}is_staff": True}) | Q(**{f"{prefix}is_superuser": True}) | permission
    )


def live_workers():
    since = timezone.now() - timedelta(seconds=settings.WORKER_STALE_SECONDS)
    return Worker.objects.filter(last_seen__gte=since, stopped_at__isnull=True)


def live_nodes():
    since = timezone.now() - timedelta(seconds=settings.NODE_STALE_SECONDS)
    return Node.objects.filter(last_seen__gte=since).filter(node_owner_q()).distinct()


@dataclass
class Fleet:
    workers: list[Worker]
    nodes: list[Node]
    node_count: int
    min_compute: dict[str, float] = field(default_factory=dict)  # hardware generation → min compute
    # Verdicts by what they depend on (executor class, packages, queue, GPU generation), filled by
    # jobtemplates.services.runnability: a list of 10,000 templates judges each distinct need once.
    verdict_memo: dict[tuple, Verdict] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def load(cls) -> Fleet:
        nodes = list(live_nodes().select_related("hardware_generation"))
        return cls(
            workers=list(live_workers()),
            nodes=nodes,
            node_count=len(nodes) or Node.objects.filter(node_owner_q()).distinct().count(),
            min_compute={h.generation: h.min_compute_capability for h in Hardware.objects.all()},
        )

    @classmethod
    def snapshot(cls) -> Fleet:
        """The fleet as loaded at most ``FLEET_SNAPSHOT_SECONDS`` ago in this process (0: loaded now).

        What the API shows (``runnable`` of every template answer) reads it: four queries saved per
        request. A change to a worker, node or hardware row saved in this process drops the snapshot at
        once (and again when its transaction commits); one saved elsewhere (a worker's heartbeat, a
        node's poll) shows within the TTL, which is far below the liveness windows
        (``WORKER_STALE_SECONDS``, ``NODE_STALE_SECONDS``). create-job's "can anything run it" check reads it
        too (a worker started elsewhere is seen within the TTL; a job accepted on a stale verdict waits);
        routing a job to a runner loads its own.
        """
        ttl = float(getattr(settings, "FLEET_SNAPSHOT_SECONDS", 0) or 0)
        if ttl <= 0:
            return cls.load()
        now = time.monotonic()
        with _snapshot_lock:
            kept = _snapshot.get("fleet")
            if kept is not None and now - _snapshot["loaded_at"] < ttl:
                return kept
            generation = _snapshot["generation"]
        fleet = cls.load()
        with _snapshot_lock:
            # A change saved while it loaded makes it stale already: use it for this answer only.
            if _snapshot["generation"] == generation:
                _snapshot.update(fleet=fleet, loaded_at=now)
        return fleet

    def verdict(self, needs: Needs) -> Verdict:
        runner = runner_for(needs.executor_class)
        if runner == CELERY:
            return self._celery(needs)
        if runner == NODE:
            return self._node(needs)
        return Verdict(
            False,
            NONE,
            f"no runner handles {needs.executor_class}: its module is in neither EXECUTOR_ALLOWED_MODULES "
            f"({', '.join(settings.EXECUTOR_ALLOWED_MODULES) or 'none'}) nor EXECUTOR_NODE_MODULES "
            f"({', '.join(settings.EXECUTOR_NODE_MODULES) or 'none'})",
        )

    def gpu_ok(self, compute: float | None, needed: str) -> bool:
        if not needed:
            return True
        floor = self.min_compute.get(needed)
        return compute is not None and floor is not None and compute >= floor

    def worker_problem(self, worker: Worker, needs: Needs) -> str | None:
        """Why ``worker`` cannot run a job of ``needs`` (None: it can)."""
        queue = resolved_queue(needs.queue)
        if queue not in worker.queues:
            return f"does not consume queue {queue!r}"
        if needs.executor_class not in worker.executor_classes:
            return f"cannot import {needs.executor_class}"
        missing = missing_from(needs.required_packages, distributions_lookup(worker.distributions))
        if missing:
            return f"lacks required packages: {', '.join(missing)}"
        if needs.min_hardware_generation and not any(
            self.gpu_ok(gpu.get("compute"), needs.min_hardware_generation) for gpu in worker.gpus
        ):
            return f"has no GPU of generation {needs.min_hardware_generation} or later"
        return None

    def _celery(self, needs: Needs) -> Verdict:
        if not self.workers:
            return Verdict(
                False, CELERY, f"no live Celery worker (none reported in the last {settings.WORKER_STALE_SECONDS:g} s)"
            )
        problems = {}
        for worker in self.workers:
            problem = self.worker_problem(worker, needs)
            if problem is None:
                return Verdict(True, CELERY)
            problems[worker.name] = problem
        detail = "; ".join(f"{name} {problem}" for name, problem in sorted(problems.items())[:5])
        return Verdict(False, CELERY, f"no live worker can run {needs.executor_class}: {detail}")

    def _node(self, needs: Needs) -> Verdict:
        if not self.node_count:
            return Verdict(False, NODE, "no job-launcher node is registered (by a user who may act as a node)")
        if not self.nodes:
            return Verdict(
                False, NODE, f"no job-launcher node has been seen in the last {settings.NODE_STALE_SECONDS:g} s"
            )
        if not any(self.node_fits(node, needs) for node in self.nodes):
            return Verdict(
                False, NODE, f"no live node has hardware generation {needs.min_hardware_generation} or later"
            )
        return Verdict(True, NODE)

    def node_fits(self, node: Node, needs: Needs) -> bool:
        if not needs.min_hardware_generation:
            return True
        generation = node.hardware_generation
        return generation is not None and self.gpu_ok(generation.min_compute_capability, needs.min_hardware_generation)


_snapshot_lock = threading.Lock()
_snapshot: dict = {"fleet": None, "loaded_at": 0.0, "generation": 0}


def forget_fleet_snapshot(**_signal) -> None:
    """Drop this process's fleet snapshot (connected to saves and deletes of workers, nodes, hardware)."""
    with _snapshot_lock:
        _snapshot.update(fleet=None, generation=_snapshot["generation"] + 1)


def node_satisfies(node: Node, min_hardware_generation: str) -> bool:
    """Whether ``node``'s hardware generation is ``min_hardware_generation`` or later (1 query at most)."""
    if not min_hardware_generation:
        return True
    needed = Hardware.objects.filter(generation=min_hardware_generation).first()
    generation = node.hardware_generation
    return (
        needed is not None
        and generation is not None
        and (generation.min_compute_capability >= needed.min_compute_capability)
    )
