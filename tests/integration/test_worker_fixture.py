"""The worker fixture kills its processes after a test and leaves the broker empty."""

from __future__ import annotations

import pytest
from django.conf import settings

from gallery.tasks import refresh_quota
from tests.celery_fixture import broker_clear, broker_leftovers, stop_processes
from tests.integration.conftest import wait_for


def test_the_broker_check_sees_a_message_nobody_read():
    refresh_quota.apply_async((0,), countdown=60)

    assert any("gallery.tasks.refresh_quota" in line for line in broker_leftovers())
    broker_clear()
    assert broker_leftovers() == []


@pytest.mark.integration
def test_a_killed_worker_leaves_nothing_held_in_the_broker(celery_worker, celery_processes):
    if not settings.CELERY_BROKER_URL.startswith("redis"):
        pytest.skip("only Redis keeps the messages a worker holds (the filesystem broker: none)")
    # What every finished job leaves: a quota refresh a few seconds later, which the worker
    # holds unacknowledged until then (as it does a job's retry countdown).
    refresh_quota.apply_async((0,), countdown=60)
    received = b"gallery.tasks.refresh_quota["
    wait_for(
        lambda: received in celery_worker.log_path.read_bytes(),
        what="the worker to take the message",
        worker=celery_worker,
    )
    assert any("never acked" in line for line in broker_leftovers())

    stop_processes(celery_processes)  # what the fixture does after each test

    assert not celery_worker.alive
    assert broker_leftovers() == []
