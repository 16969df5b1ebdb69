"""A burst of submits against a budget, as people make it: 50 POSTs of the generate form at
once to the real web server (gunicorn as `make run` starts it: two processes, several threads
each), then a real Celery worker runs what was queued.

Run on the configured database (PostgreSQL in CI) and again on SQLite in `make test`'s second
pass (see the Makefile), so the reservation's lock holds on both.
"""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
import requests
from django.urls import reverse

from gallery.models import Job, JobState, LedgerEntry, MemberBudget
from gallery.services.budgets import budget_used
from tests.integration.conftest import finished, logged_in_session

pytestmark = pytest.mark.integration

BURST = 50
BUDGET = 10


@pytest.fixture
def web_server(start_web) -> str:
    web = start_web(JOBS_MAX_ACTIVE_PER_WORKSPACE="1000", JOBS_PER_MEMBER_PER_MINUTE="1000")
    return web.url


def test_fifty_submits_at_once_reserve_and_run_exactly_the_budget(
    web_server, client_for, studio, member, start_worker, sandbox
):
    MemberBudget.objects.create(
        workspace=studio, user=member, limit=Decimal(BUDGET), unlimited=False
    )
    url = web_server + reverse("gallery:generate", args=[studio.slug])
    session, token = logged_in_session(client_for, member, url)
    start = threading.Barrier(BURST)
    outcomes: list[str] = []
    errors: list[BaseException] = []

    def submit(i: int) -> None:
        form = {
            "csrfmiddlewaretoken": token,
            "prompt": "a burst of lighthouses",
            "model": "nano-banana-2",
            "n": "1",
            "aspect_ratio": "1:1",
            "output_format": "png",
            "idempotency_key": f"burst-{i}",
        }
        try:
            start.wait()
            # One connection each (a shared session's pool would queue them).
            response = requests.post(
                url,
                data=form,
                cookies=session.cookies,
                allow_redirects=False,
                timeout=60,
            )
            if response.status_code == 302:
                outcomes.append("queued")
            elif "left this month" in response.text:
                outcomes.append("refused")
            else:
                outcomes.append(f"HTTP {response.status_code}")
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(BURST)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sorted(outcomes) == ["queued"] * BUDGET + ["refused"] * (BURST - BUDGET)
    jobs = list(Job.objects.filter(workspace=studio))
    assert len(jobs) == BUDGET
    assert LedgerEntry.objects.filter(kind="reserve").count() == BUDGET

    worker = start_worker()
    for job in jobs:
        finished(job, worker, timeout=120)
        assert job.state == JobState.SUCCEEDED, job.error
    assert sandbox.counters()["images_charged"] == BUDGET
    assert budget_used(workspace=studio, unit="images", user=member) == BUDGET
    assert LedgerEntry.objects.filter(kind="settle").count() == BUDGET
