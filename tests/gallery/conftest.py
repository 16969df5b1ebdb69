"""Gallery fixtures: the test workspace wired to the live sandbox, with its catalog loaded."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest

from accounts import crypto
from gallery.models import Job, QuotaSnapshot
from gallery.services.catalog import catalog_refresh
from gallery.services.jobs import JobRequest, job_submit
from tests.gallery.webhook_receiver import receiver as receiver  # a fixture: the webhook receiver


@pytest.fixture
def nanogpt_studio(studio, sandbox):
    """The workspace on the sandbox's NanoGPT side (a USD balance), its priced catalog loaded."""
    credential = studio.credential
    credential.kind = "nanogpt"
    credential.secret_encrypted = crypto.encrypt(sandbox.api_key)
    credential.save()
    catalog_refresh(workspace=studio)
    return studio


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def submit(studio, member):
    """Queue a job as the member (without running it)."""
    counter = iter(range(1_000_000))

    def make(prompt: str = "a lighthouse at dusk", model: str = "nano-banana-2", **params) -> Job:
        params.setdefault("n", 1)
        return job_submit(
            workspace=studio,
            author=member,
            request=JobRequest("text2image", prompt, model, params),
            idempotency_key=f"key-{next(counter)}",
        )

    return make


@pytest.fixture
def quota_left(studio):
    def set_left(monthly: int, daily_limit: int = 1000, daily_used: int = 0) -> QuotaSnapshot:
        return QuotaSnapshot.objects.create(
            workspace=studio,
            kind="credits",
            monthly_available=monthly,
            monthly_limit=100,
            monthly_used=100 - monthly,
            daily_limit=daily_limit,
            daily_used=daily_used,
        )

    return set_left


@pytest.fixture(autouse=True)
def _no_heartbeat_thread_writes(settings):
    """Jobs run inside the test's transaction here; a heartbeat thread has its own connection
    and would wait on that transaction's lock. The heartbeat is tested with a real worker."""
    settings.JOB_HEARTBEAT_SECONDS = 3600


@dataclass
class SentTask:
    name: str
    args: tuple
    eta: dt.datetime | None


@pytest.fixture
def sent_tasks(monkeypatch) -> list[SentTask]:
    """The task messages Celery builds, recorded instead of put on the broker (nothing is left
    behind for a later worker). Messages sent on commit need `django_capture_on_commit_callbacks`
    with execute=True, or a transactional test."""
    from config.celery import app

    sent: list[SentTask] = []

    def record(producer, name, message, **options) -> None:
        eta = message.headers.get("eta")
        args = message.body[0]
        sent.append(SentTask(name, tuple(args), dt.datetime.fromisoformat(eta) if eta else None))

    monkeypatch.setattr(app.amqp, "send_task_message", record)
    return sent
