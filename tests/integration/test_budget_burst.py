"""A burst of submits against a budget, as people make it: 50 POSTs of the generate form at
once to the real web server (gunicorn as `make run` starts it: two processes, several threads
each), then a real Celery worker runs what was queued.

Run on the configured database (PostgreSQL in CI) and again on SQLite in `make test`'s second
pass (see the Makefile), so the reservation's lock holds on both.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest
import requests
from django.conf import settings as django_settings
from django.urls import reverse

from gallery.models import Job, JobState, LedgerEntry, MemberBudget
from gallery.services.budgets import budget_used
from tests.celery_fixture import ROOT, _test_database_url
from tests.integration.conftest import finished

pytestmark = pytest.mark.integration

BURST = 50
BUDGET = 10


@pytest.fixture
def web_server(transactional_db, tmp_path) -> Iterator[str]:
    """gunicorn serving Darkroom on the test database, as the Procfile runs it; its URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "DATABASE_URL": _test_database_url(),
        "JOBS_MAX_ACTIVE_PER_WORKSPACE": "1000",
        "JOBS_PER_MEMBER_PER_MINUTE": "1000",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    log = (tmp_path / "gunicorn.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", "2", "--threads", "8", "--no-control-socket"],
        cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        # Booting two workers can take a while on a busy machine: wait for the first answer.
        deadline = time.monotonic() + 90
        while True:
            try:
                requests.get(f"http://127.0.0.1:{port}/", timeout=10)
                break
            except requests.RequestException:
                log_text = (tmp_path / "gunicorn.log").read_text()
                assert process.poll() is None, log_text
                assert time.monotonic() < deadline, f"gunicorn did not answer:\n{log_text}"
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(15)
        log.close()


def logged_in_session(client_for, user, url: str) -> tuple[requests.Session, str]:
    """A `requests` session carrying `user`'s login, and the generate form's CSRF token."""
    client = client_for(user)
    session = requests.Session()
    session.cookies.set(django_settings.SESSION_COOKIE_NAME, client.cookies["sessionid"].value)
    page = session.get(url, timeout=30)
    page.raise_for_status()
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert found, "the generate page has no CSRF token"
    return session, found[1]


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
