"""Kill anything at any moment: every job ends exactly once, with one charge, soon after the
process comes back.

Real worker processes, a real beat running the recovery tick on its schedule, the sandbox over
HTTP, and the configured database and broker (`make test` runs this module on PostgreSQL + Redis
in CI and again on SQLite + the filesystem broker). The heartbeat, stale and dispatch intervals
are shortened (RECOVERY_TIMING) so that the mechanism is proved in seconds: that the *default*
settings recover within the promised minute is measured by `make bench` (README, Recovery),
not by a timed test.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from config.celery import app as celery_app
from gallery.models import Job
from gallery.services.jobs import WORKERS_UNREACHABLE
from tests.integration.conftest import finished, wait_for

# A job is released 6 s after its last heartbeat (default 30 s), the tick runs every second
# (default 5 s) and a message lost after submit is sent again after 3 s (default 10 s).
RECOVERY_TIMING = {
    "JOB_HEARTBEAT_SECONDS": "1",
    "JOB_STALE_SECONDS": "6",
    "JOB_DISPATCH_SECONDS": "1",
    "JOB_REDISPATCH_SECONDS": "3",
}
pytestmark = [pytest.mark.integration, pytest.mark.worker_env(**RECOVERY_TIMING)]

# The promise is a minute with the default settings (`make bench`); with the short
# timing above a generous bound that still fails if the recovery tick never comes.
RECOVERY_SECONDS = 30
PROMPT = "a lighthouse at dusk"


def calls_reached_the_provider(sandbox, count: int) -> None:
    wait_for(
        lambda: sandbox.calls("POST ds.generate") >= count,
        what=f"{count} generate call(s) to reach the provider",
    )


def test_a_killed_worker_resumes_and_each_job_keeps_its_own_image_and_author(
    celery_worker,
    celery_beat,
    start_worker,
    generate,
    sandbox,
    member,
    owner,
    member_client,
    owner_client,
):
    # X: the member's job, done before anything goes wrong.
    generate(client=member_client)
    x = finished(Job.objects.get(), celery_worker)
    assert x.state == "succeeded", x.error
    x_image = x.images.get()
    # Y: the owner asks for exactly the same; W waits behind it. Y's call is slow and in flight
    # at the provider when the whole worker (pool included) dies.
    sandbox.faults(route="ds.generate", latency=5, count=1)
    generate(client=owner_client)
    generate(client=member_client, prompt="a harbour at night")
    y = Job.objects.get(author=owner)
    w = Job.objects.get(prompt="a harbour at night")
    calls_reached_the_provider(sandbox, 2)
    celery_worker.kill()

    started = time.monotonic()
    replacement = start_worker()
    for job in (y, w):
        finished(job, replacement, timeout=RECOVERY_SECONDS + 30)
    took = time.monotonic() - started

    assert (y.state, w.state) == ("succeeded", "succeeded"), (y.error, w.error)
    assert took < RECOVERY_SECONDS, f"recovered in {took:.0f} s"
    y_image = y.images.get()
    assert y_image.author == owner
    assert y_image.provider_image_id != x_image.provider_image_id
    x_image.refresh_from_db()
    assert (x_image.job, x_image.author) == (x, member)  # nothing moved from X to Y
    assert sandbox.calls("POST ds.generate") == 3  # X, Y once (adopted, not re-sent), W
    assert sandbox.counters()["images_charged"] == 3


def test_a_killed_pool_child_is_replaced_and_its_job_finishes_once(
    celery_worker, celery_beat, generate, sandbox
):
    sandbox.faults(route="ds.generate", latency=5, count=1)
    generate(n=2)
    job = Job.objects.get()
    calls_reached_the_provider(sandbox, 1)
    [child] = celery_worker.children()
    os.kill(child, signal.SIGKILL)

    started = time.monotonic()
    finished(job, celery_worker, timeout=RECOVERY_SECONDS + 30)
    took = time.monotonic() - started
    assert job.state == "succeeded", job.error
    assert took < RECOVERY_SECONDS, f"recovered in {took:.0f} s"
    assert celery_worker.alive
    assert job.images.count() == 2
    assert sandbox.calls("POST ds.generate") == 1
    assert sandbox.counters()["images_charged"] == 2


def test_a_retry_waiting_in_a_killed_worker_is_sent_again(
    celery_worker, celery_beat, start_worker, generate, sandbox
):
    sandbox.faults(route="ds.generate", status=429, retry_after=5, count=1)
    generate()
    job = Job.objects.get()
    calls_reached_the_provider(sandbox, 1)
    wait_for(lambda: Job.objects.filter(pk=job.pk, state="queued", attempts=1).exists())
    celery_worker.kill()  # the message for the retry dies with it

    replacement = start_worker()
    finished(job, replacement, timeout=RECOVERY_SECONDS)
    assert job.state == "succeeded", job.error
    assert sandbox.calls("POST ds.generate") == 2
    assert sandbox.counters()["images_charged"] == 1


def test_a_message_lost_after_submit_is_sent_again_by_the_dispatcher(
    celery_beat, start_worker, generate, sandbox
):
    generate()  # no worker yet: the message waits in the broker…
    celery_app.control.purge()  # …and is lost
    job = Job.objects.get()
    worker = start_worker()
    limit = (
        float(RECOVERY_TIMING["JOB_REDISPATCH_SECONDS"])
        + 2 * float(RECOVERY_TIMING["JOB_DISPATCH_SECONDS"])
        + 10
    )
    finished(job, worker, timeout=limit)
    assert job.state == "succeeded", job.error
    assert sandbox.counters()["images_charged"] == 1


# --- The broker down at submit ----------------------------------------------------------------


@contextmanager
def web_tier_broker(url: str) -> Iterator[None]:
    """Point this process's Celery app (the web tier in these tests) at another broker."""
    conf = celery_app.conf
    saved = (conf.broker_url, conf.broker_transport, conf.broker_transport_options)
    saved_env = os.environ.pop("CELERY_BROKER_URL", None)  # Celery prefers it to its settings
    conf.broker_url, conf.broker_transport, conf.broker_transport_options = url, None, {}
    celery_app._after_fork()  # drop the pooled connections to the old broker
    try:
        yield
    finally:
        conf.broker_url, conf.broker_transport, conf.broker_transport_options = saved
        if saved_env is not None:
            os.environ["CELERY_BROKER_URL"] = saved_env
        celery_app._after_fork()


def test_a_job_submitted_while_the_broker_is_down_runs_once_it_is_back(
    private_redis, start_worker, start_beat, generate, sandbox, member_client
):
    with web_tier_broker(private_redis.url):
        started = time.monotonic()
        response = generate()
        answered = time.monotonic() - started
    assert response.status_code == 302  # no 500
    assert answered < 5, f"the web tier waited {answered:.1f} s on the broker"
    job = Job.objects.get()
    assert (job.state, job.error) == ("queued", WORKERS_UNREACHABLE)
    page = member_client.get(response["Location"]).content.decode()
    assert WORKERS_UNREACHABLE in page  # in the toast and on the job's card

    private_redis.start()
    env = {"CELERY_BROKER_URL": private_redis.url}
    worker = start_worker(**env)
    start_beat(**env)
    finished(job, worker, timeout=float(RECOVERY_TIMING["JOB_REDISPATCH_SECONDS"]) + 30)
    assert job.state == "succeeded", job.error
    assert sandbox.counters()["images_charged"] == 1
