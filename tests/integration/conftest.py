"""Helpers for tests with a real Celery worker (the worker and beat fixtures are in
tests/celery_fixture.py): submit through the web tier, wait for a job to finish."""

from __future__ import annotations

import time

import pytest
from django.test import Client
from django.urls import reverse

from gallery.models import Job
from tests.celery_fixture import CeleryProcess


@pytest.fixture
def generate(member_client, studio):
    """POST the generate form (as the member unless another client is given)."""
    keys = iter(range(1_000_000))

    def post(
        n: int = 1,
        key: str | None = None,
        prompt: str = "a lighthouse at dusk",
        client: Client | None = None,
    ):
        data = {
            "prompt": prompt,
            "model": "nano-banana-2",
            "n": str(n),
            "aspect_ratio": "1:1",
            "output_format": "png",
            "idempotency_key": key or f"k-{next(keys)}",
        }
        return (client or member_client).post(reverse("gallery:generate", args=[studio.slug]), data)

    return post


def finished(job: Job, worker: CeleryProcess | None, timeout: float = 60) -> Job:
    def done() -> bool:
        job.refresh_from_db()
        return not job.is_active

    wait_for(done, timeout=timeout, what=f"job {job.pk} to finish", worker=worker)
    return job


def wait_for(
    predicate, *, timeout: float = 30, what: str = "condition", worker: CeleryProcess | None = None
):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    detail = f"\nworker log:\n{worker.output()}" if worker else ""
    raise AssertionError(f"timed out after {timeout}s waiting for {what}{detail}")
