"""Firing a job transition's notifications (called after the transition's commit).

Placeholder until the notifications issue lands: it only logs. The signature is the contract the job
services call: ``job_transition_notify(job=…, actions=("on_finish",), transition_data={…})``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

logger = logging.getLogger(__name__)


def job_transition_notify(*, job, actions: Iterable[str], transition_data: dict[str, Any]) -> None:
    logger.info("job %s: %s %s", job.pk, ",".join(actions), transition_data)
