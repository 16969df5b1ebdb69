"""database_retry: a worker's step tried again while the database cannot be reached, within a
time limit, never inside a transaction and never for an error that is not an outage. (The real
outages, a worker cut off from PostgreSQL, are in tests/integration/test_outages.py.)"""

from __future__ import annotations

import pytest
from django.db import IntegrityError, InterfaceError, OperationalError, transaction

from gallery import tasks
from gallery.services import jobs, outages


@pytest.fixture(autouse=True)
def _no_waiting(monkeypatch):
    monkeypatch.setattr(outages.time, "sleep", lambda seconds: None)


def failing(times: int, error: Exception):
    calls = []

    def step() -> str:
        calls.append(1)
        if len(calls) <= times:
            raise error
        return "done"

    return step, calls


@pytest.mark.parametrize("error", [OperationalError("refused"), InterfaceError("closed")])
def test_it_tries_the_step_again_until_the_database_answers(error, caplog):
    step, calls = failing(3, error)
    assert outages.database_retry(step, what="Job 7") == "done"
    assert len(calls) == 4
    assert "Job 7: the database cannot be reached" in caplog.text


def test_it_gives_up_after_the_time_limit(settings):
    settings.JOB_DATABASE_RETRY_SECONDS = 0
    step, calls = failing(10, OperationalError("refused"))
    with pytest.raises(OperationalError):
        outages.database_retry(step, what="Job 7")
    assert len(calls) == 1


def test_it_does_not_retry_other_database_errors():
    step, calls = failing(1, IntegrityError("duplicate"))
    with pytest.raises(IntegrityError):
        outages.database_retry(step, what="Job 7")
    assert len(calls) == 1


@pytest.mark.django_db
def test_it_leaves_a_transaction_to_its_owner():
    step, calls = failing(1, OperationalError("refused"))
    with pytest.raises(OperationalError), transaction.atomic():
        outages.database_retry(step, what="Job 7")
    assert len(calls) == 1


def test_a_recovery_tick_without_a_database_is_skipped_with_a_warning(monkeypatch, caplog):
    def unreachable() -> None:
        raise OperationalError("connection refused")

    monkeypatch.setattr(jobs, "jobs_recover", unreachable)
    tasks.recover_jobs()
    assert "Recovery tick skipped: the database cannot be reached" in caplog.text
