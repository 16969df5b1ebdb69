"""Several machines share the work: two web processes and two workers, each with a folder of its
own (its own VAR_DIR), and nothing in common but PostgreSQL, one Redis (broker, cache, results)
and an S3-protocol bucket (media). The test itself plays the load balancer: it sends each request
to the web process it names.

PostgreSQL only: SQLite is one machine's file. CI's main pass runs it on PostgreSQL; elsewhere
on SQLite it skips, saying so, but under CI=true it fails, so CI cannot pass by not running it.
"""

from __future__ import annotations

import ast
import json
import os
import re
import socket
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from django.urls import reverse

from accounts.models import User
from gallery.models import Job, JobState
from tests.celery_fixture import CeleryProcess
from tests.factories import UserFactory
from tests.integration.conftest import (
    PrivateRedis,
    finished,
    logged_in_session,
    login_session,
    wait_for,
)
from tests.s3server import S3Server

pytestmark = pytest.mark.integration

# A dead worker's job is handed on within seconds, not the default half-minute.
FAST_RECOVERY = {
    "JOB_HEARTBEAT_SECONDS": "1",
    "JOB_STALE_SECONDS": "3",
    "JOB_DISPATCH_SECONDS": "1",
    "JOB_REDISPATCH_SECONDS": "2",
    "JOB_RECONCILE_POLL_SECONDS": "1",
}


@pytest.fixture
def postgresql(transactional_db) -> None:
    if connection.vendor != "postgresql":
        message = (
            "the scale-out test needs PostgreSQL (SQLite is one machine's file): run it with "
            "DATABASE_URL=postgres://…"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)


@dataclass
class Machines:
    root: Path  # each process's folder (its VAR_DIR) is one under it
    environment: dict[str, str]  # what they share: where PostgreSQL, Redis and the bucket are
    web_a: str = ""
    web_b: str = ""
    workers: tuple[CeleryProcess, ...] = ()

    def machine(self, name: str) -> dict[str, str]:
        """The variables of one more process, with an empty folder of its own."""
        folder = self.root / name
        folder.mkdir(parents=True)
        # Every path setting under its own folder, whatever the run's environment says.
        return {
            **self.environment,
            "VAR_DIR": str(folder),
            "MEDIA_ROOT": str(folder / "media"),
            "STATIC_ROOT": str(folder / "staticfiles"),
        }


@pytest.fixture
def machines(
    postgresql, private_redis: PrivateRedis, s3_server: S3Server, start_web, start_worker, tmp_path
) -> Iterator[Machines]:
    """Two web processes and two workers, started at once, on the test database (PostgreSQL)."""
    private_redis.start()
    found = Machines(
        root=tmp_path / "machines",
        environment={
            **s3_server.environment(),
            "CELERY_BROKER_URL": private_redis.database(0),
            "CACHE_URL": private_redis.database(1),
            "CELERY_RESULT_BACKEND": private_redis.database(2),
            "LOG_FORMAT": "json",  # each line about a job names it: who ran what
            "JOBS_MAX_ACTIVE_PER_WORKSPACE": "100",
            "JOBS_PER_MEMBER_PER_MINUTE": "100",
            **FAST_RECOVERY,
        },
    )
    webs = [start_web(workers=1, threads=4, wait=False, **found.machine(f"web-{n}")) for n in "ab"]
    workers = [start_worker(wait=False, **found.machine(f"worker-{n}")) for n in "ab"]
    for process in [*webs, *workers]:
        process.wait_ready()
    found.web_a, found.web_b = webs[0].url, webs[1].url
    found.workers = tuple(workers)
    yield found
    # Nothing fell back to a folder of a process's own: media, broker, results and cache are all
    # in the shared services.
    for folder in found.root.iterdir():
        local = sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))
        assert local == [], f"{folder.name} kept files of its own: {local}"


def worker_name(worker: CeleryProcess) -> str:
    hostname = worker.args[worker.args.index("--hostname") + 1]
    return hostname.replace("%h", socket.gethostname())


def log_entries(worker: CeleryProcess) -> list[dict[str, Any]]:
    lines = worker.log_path.read_text().splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def jobs_received_by(worker: CeleryProcess) -> set[int]:
    """The jobs whose task message this worker took from the broker, from its JSON log."""
    return {
        ast.literal_eval(e["data"]["args"])[0]
        for e in log_entries(worker)
        if e["message"].startswith("Task gallery.tasks.run_job[") and "received" in e["message"]
    }


def jobs_run_by(worker: CeleryProcess) -> set[int]:
    """The jobs whose task succeeded in this worker, from its JSON log."""
    return {
        e["job_id"]
        for e in log_entries(worker)
        if "run_job[" in e["message"] and "succeeded in" in e["message"] and e.get("job_id")
    }


def submit(machines: Machines, client_for, user: User, studio, *, count: int) -> list[Job]:
    """POST the generate form `count` times through web A, as the user's browser would."""
    url = machines.web_a + reverse("gallery:generate", args=[studio.slug])
    session, token = logged_in_session(client_for, user, url)
    known = set(Job.objects.values_list("pk", flat=True))
    for i in range(count):
        form = {
            "csrfmiddlewaretoken": token,
            "prompt": f"a lighthouse on machine {i}",
            "model": "nano-banana-2",
            "n": "1",
            "aspect_ratio": "1:1",
            "output_format": "png",
            "idempotency_key": uuid.uuid4().hex,
        }
        response = session.post(url, data=form, allow_redirects=False, timeout=30)
        assert response.status_code == 302, response.text[-2000:]
    return list(Job.objects.exclude(pk__in=known).order_by("pk"))


def test_a_job_submitted_through_one_web_process_is_run_by_either_worker_and_shown_by_the_other(
    machines, client_for, member, studio, sandbox, s3_server
):
    tokens_before = sandbox.calls("POST nf.token")  # the test's own catalog refresh fetched one
    # Slow calls keep a worker busy, so the next job goes to the other one.
    sandbox.faults(route="ds.generate", latency=2, count=4)
    jobs = submit(machines, client_for, member, studio, count=4)
    assert len(jobs) == 4
    for job in jobs:
        finished(job, None)
        assert job.state == JobState.SUCCEEDED, job.error

    # Both workers took some, and each job ran once.
    ran = [jobs_run_by(worker) for worker in machines.workers]
    assert all(ran), f"one worker ran every job: {ran}"
    assert sorted([*ran[0], *ran[1]]) == [job.pk for job in jobs]
    assert sandbox.calls("POST ds.generate") == 4
    assert sandbox.counters()["images_charged"] == 4
    # One token for all of them: whichever process fetched it first, the others found it in
    # the shared cache.
    assert sandbox.calls("POST nf.token") == tokens_before + 1

    # Web B shows the job's card, and its thumbnail comes from the bucket.
    session = login_session(client_for, member)
    image = jobs[0].images.get()
    card = session.get(
        machines.web_b + reverse("gallery:job_card", args=[studio.slug, jobs[0].pk]),
        headers={"HX-Request": "true"},  # the card alone, as its poll asks for it
        timeout=30,
    )
    assert card.status_code == 200
    signed = reverse("thumbnail", args=["-"]).rpartition("-")[0]
    thumbnail = re.search(f'<img src="({re.escape(signed)}[^"]+)"', card.text)
    assert thumbnail, card.text
    shown = session.get(machines.web_b + thumbnail[1], timeout=30)
    assert shown.history[0].status_code == 302  # to a presigned URL of the bucket
    assert shown.url.startswith(s3_server.endpoint_url)
    assert shown.content == s3_server.read(image.thumbnail.name)
    original = session.get(
        machines.web_b + reverse("gallery:image_file", args=[studio.slug, image.pk]), timeout=30
    )
    assert original.url.startswith(s3_server.endpoint_url)
    assert original.content == s3_server.read(image.file.name)

    # The operations page, through web B, lists both workers' heartbeats.
    staff = UserFactory(is_staff=True)
    ops = login_session(client_for, staff).get(machines.web_b + reverse("ops"), timeout=30)
    assert ops.status_code == 200
    for worker in machines.workers:
        assert worker_name(worker) in ops.text


def test_a_worker_killed_mid_call_loses_nothing_the_other_finishes_its_job_once(
    machines, start_beat, client_for, member, studio, sandbox, s3_server
):
    start_beat(**machines.machine("beat"))  # the reaper and the dispatcher
    sandbox.faults(route="ds.generate", latency=4, count=1)
    [slow] = submit(machines, client_for, member, studio, count=1)
    wait_for(lambda: sandbox.calls("POST ds.generate") == 1, what="the slow call to start")
    # The worker holding the slow call dies with it: SIGKILL, pool included, nothing acked.
    [victim] = [w for w in machines.workers if slow.pk in jobs_received_by(w)]
    [survivor] = [w for w in machines.workers if w is not victim]
    victim.kill()
    assert sandbox.counters()["images_charged"] == 0  # the call was still in flight
    [later] = submit(machines, client_for, member, studio, count=1)  # and work goes on

    for job in (slow, later):
        finished(job, survivor, timeout=40)
        assert job.state == JobState.SUCCEEDED, job.error
        assert job.images.count() == 1
        assert s3_server.read(job.images.get().file.name)  # in the bucket
    assert jobs_run_by(survivor) == {slow.pk, later.pk}
    assert jobs_run_by(victim) == set()
    # The slow call was paid once and adopted by the survivor, not sent again.
    assert sandbox.calls("POST ds.generate") == 2
    assert sandbox.counters()["images_charged"] == 2
