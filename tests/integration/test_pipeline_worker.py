"""The generation pipeline end to end: the web tier, a real Celery worker process, the sandbox
over HTTP, and the configured database and broker (PostgreSQL and Redis in CI)."""

from __future__ import annotations

import time

import pytest

from gallery.models import Job
from gallery.services.quota import quota_refresh
from tests.integration.conftest import finished

pytestmark = pytest.mark.integration

FAST_RETRIES = {
    "JOB_RETRY_BASE_SECONDS": "0.2",
    "JOB_RETRY_MAX_SECONDS": "2",
    "JOB_RECONCILE_WAIT_SECONDS": "3",
    "JOB_RECONCILE_POLL_SECONDS": "0.5",
    "JOB_RECONCILE_SETTLE_SECONDS": "0.5",
}


def test_a_job_runs_to_success_in_a_real_worker(celery_worker, generate, sandbox):
    generate(n=2)
    job = finished(Job.objects.get(), celery_worker)
    assert job.state == "succeeded", job.error
    assert job.images.count() == 2
    for image in job.images.all():
        assert image.file.storage.exists(image.file.name)
        assert image.thumbnail.storage.exists(image.thumbnail.name)
    assert sandbox.counters()["images_charged"] == 2


@pytest.mark.worker_env(**FAST_RETRIES)
def test_a_429_is_retried_after_retry_after_and_then_succeeds(celery_worker, generate, sandbox):
    sandbox.faults(route="ds.generate", status=429, retry_after=2, count=1)
    started = time.monotonic()
    generate()
    job = finished(Job.objects.get(), celery_worker)
    assert job.state == "succeeded", job.error
    assert job.attempts == 2
    assert time.monotonic() - started >= 2  # Retry-After was honoured
    assert sandbox.calls("POST ds.generate") == 2
    assert sandbox.counters()["images_charged"] == 1


@pytest.mark.worker_env(**FAST_RETRIES)
def test_server_errors_every_time_end_in_a_clear_failure(
    celery_worker, generate, sandbox, settings
):
    settings.JOB_MAX_ATTEMPTS = 3  # fixed on the job when it is submitted
    sandbox.faults(route="ds.generate", status=500, count=100)
    generate()
    job = finished(Job.objects.get(), celery_worker)
    assert job.state == "failed"
    assert "server error" in job.error
    assert sandbox.calls("POST ds.generate") == 3
    assert sandbox.counters()["images_charged"] == 0


@pytest.mark.worker_env(PROVIDER_GENERATE_TIMEOUT="1", **FAST_RETRIES)
def test_a_read_timeout_is_reconciled_and_charged_once(celery_worker, generate, sandbox):
    sandbox.faults(route="ds.generate", latency=2, count=1)  # generates after we gave up
    generate(n=2)
    job = finished(Job.objects.get(), celery_worker)
    assert job.state == "succeeded", job.error
    assert job.images.count() == 2
    assert sandbox.calls("POST ds.generate") == 1
    assert sandbox.counters()["images_charged"] == 2


@pytest.mark.worker_env(**FAST_RETRIES)
def test_malformed_json_is_reconciled_then_succeeds(celery_worker, generate, sandbox):
    sandbox.faults(route="ds.generate", malformed_json=True, count=1)
    generate()
    job = finished(Job.objects.get(), celery_worker)
    assert job.state == "succeeded", job.error
    assert sandbox.counters()["images_charged"] == 1


def test_an_exhausted_quota_is_refused_before_any_provider_call(
    celery_worker, generate, sandbox, studio
):
    sandbox.set_quota(limit_monthly=100, used_monthly=99)
    quota_refresh(workspace=studio)
    response = generate(n=2)
    assert "2 images requested, 1 left this month." in response.content.decode()
    assert not Job.objects.exists()
    assert sandbox.calls("POST ds.generate") == 0


def test_a_token_expired_at_the_provider_is_refreshed_mid_job(celery_worker, generate, sandbox):
    generate()
    finished(Job.objects.get(), celery_worker)
    sandbox.reset(revoke_tokens=True)  # the worker's cached token is now refused
    generate()
    job = finished(Job.objects.order_by("-pk").first(), celery_worker)
    assert job.state == "succeeded", job.error
    assert sandbox.calls("POST nf.token") == 1


def test_a_double_submit_is_one_job_and_one_charge(celery_worker, generate, sandbox):
    generate(key="same")
    generate(key="same")
    job = finished(Job.objects.get(), celery_worker)
    assert job.state == "succeeded"
    assert sandbox.calls("POST ds.generate") == 1


@pytest.mark.worker_env(**FAST_RETRIES)
def test_charged_then_503_on_every_other_call_is_never_paid_twice(celery_worker, generate, sandbox):
    # A gateway that drops every other finished request: the provider did the work and charged.
    sandbox.faults(route="ds.generate", status=503, after=True, every=2)
    for take in range(4):
        generate(n=2, prompt=f"a lighthouse at dusk, take {take}")
    jobs = [finished(job, celery_worker) for job in Job.objects.order_by("pk")]
    assert [job.state for job in jobs] == ["succeeded"] * 4, [job.error for job in jobs]
    stored = sum(job.images.count() for job in jobs)
    assert stored == sandbox.counters()["images_charged"] == 8
    assert sandbox.calls("POST ds.generate") == 4
