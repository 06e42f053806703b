"""The fleet snapshot template answers are judged against: kept FLEET_SNAPSHOT_SECONDS per process,
dropped at once by any save or delete of a worker, node or hardware row in the process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from contracts.models import Hardware
from contracts.services.catalogue_seed import catalogue_seed
from jobtemplates.services.templates import template_import
from runners import capabilities
from runners.capabilities import Fleet
from runners.models import Worker
from runners.services import worker_report

pytestmark = pytest.mark.django_db

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def kept(settings):
    settings.FLEET_SNAPSHOT_SECONDS = 60


def queries_of(function):
    with CaptureQueriesContext(connection) as captured:
        result = function()
    return result, len(captured)


def test_a_snapshot_is_kept_within_its_ttl(kept):
    first, loading = queries_of(Fleet.snapshot)
    second, again = queries_of(Fleet.snapshot)
    assert loading >= 3
    assert again == 0
    assert second is first


def test_a_ttl_of_zero_loads_every_time(settings):
    settings.FLEET_SNAPSHOT_SECONDS = 0
    first, _ = queries_of(Fleet.snapshot)
    second, loading = queries_of(Fleet.snapshot)
    assert loading >= 3
    assert second is not first


def test_the_snapshot_expires(kept, monkeypatch):
    first = Fleet.snapshot()
    now = capabilities.time.monotonic()
    monkeypatch.setattr(capabilities.time, "monotonic", lambda: now + 61)
    second, loading = queries_of(Fleet.snapshot)
    assert loading >= 3
    assert second is not first


def test_a_worker_registering_drops_it(kept, test_worker_capabilities):
    before = {worker.name for worker in Fleet.snapshot().workers}
    worker_report(name="newcomer@host", **test_worker_capabilities)
    assert {worker.name for worker in Fleet.snapshot().workers} == before | {"newcomer@host"}


def test_a_worker_removed_drops_it(kept):
    assert Fleet.snapshot().workers
    Worker.objects.all().delete()
    assert Fleet.snapshot().workers == []


def test_a_node_registering_drops_it(kept, live_node):
    # live_node was saved before this first snapshot; a second node saved after it must show.
    assert len(Fleet.snapshot().nodes) == 1
    second = type(live_node).objects.get(pk=live_node.pk)
    second.pk = None
    second.index = live_node.index + 1
    second.save()
    assert len(Fleet.snapshot().nodes) == 2


def test_hardware_changes_drop_it(kept):
    Fleet.snapshot()
    Hardware.objects.create(generation="Imaginary", min_compute_capability=99.0, max_compute_capability=99.9)
    assert Fleet.snapshot().min_compute["Imaginary"] == 99.0


def test_a_change_saved_while_loading_is_not_kept(kept, monkeypatch, test_worker_capabilities):
    """A snapshot loaded while a change was saved answers its request but is not kept."""
    load = Fleet.load.__func__

    def load_while_a_worker_registers(cls):
        fleet = load(cls)
        worker_report(name="during@host", **test_worker_capabilities)
        return fleet

    monkeypatch.setattr(Fleet, "load", classmethod(load_while_a_worker_registers))
    Fleet.snapshot()
    monkeypatch.setattr(Fleet, "load", classmethod(load))
    assert "during@host" in {worker.name for worker in Fleet.snapshot().workers}


def test_a_change_in_a_transaction_drops_it_again_at_commit(
    kept, test_worker_capabilities, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        worker_report(name="committed@host", **test_worker_capabilities)
        # A snapshot taken inside the transaction (another request would not have seen the row yet).
        capabilities._snapshot.update(fleet=Fleet(workers=[], nodes=[], node_count=0), loaded_at=1e18)
    assert "committed@host" in {worker.name for worker in Fleet.snapshot().workers}


def test_template_answers_show_a_new_worker_at_once(kept, client, admin_user, test_worker_capabilities):
    catalogue_seed()
    body = json.loads((REPO / "templates" / "builtin" / "noop.json").read_text())
    template = template_import(data=body, creator=admin_user).template
    url = f"/v1/job-templates/{template.pk}"
    assert client.get(url).json()["runnable"] is True  # the test worker; the snapshot is kept now
    Worker.objects.all().delete()
    assert client.get(url).json()["runnable"] is False
    worker_report(name="again@host", **test_worker_capabilities)
    assert client.get(url).json()["runnable"] is True
    # Kept: a retrieve now makes fewer queries than one that loads the fleet.
    with CaptureQueriesContext(connection) as kept_queries:
        client.get(url)
    capabilities.forget_fleet_snapshot()
    with CaptureQueriesContext(connection) as loading_queries:
        client.get(url)
    assert len(kept_queries) <= len(loading_queries) - 3
