"""runners.holdings: the registry's pages read what runners hold through the functions the jobs app
registers at start (runners imports no jobs); without them a page fails loudly, not empty."""

from __future__ import annotations

import pytest

from jobtemplates import selectors
from runners import holdings as module
from runners.holdings import HoldingsMissing, holdings


def test_the_jobs_app_registered_its_selectors():
    registered = holdings()
    assert registered.worker_current_jobs is selectors.worker_current_jobs
    assert registered.workers_with_current_jobs is selectors.workers_with_current_jobs
    assert registered.nodes_with_jobs is selectors.nodes_with_jobs
    assert registered.node_held_job_id is selectors.node_held_job_id


def test_nothing_registered_is_an_error(monkeypatch):
    monkeypatch.setattr(module, "_holdings", None)
    with pytest.raises(HoldingsMissing, match="jobtemplates registers it"):
        holdings()
