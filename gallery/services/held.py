"""A job a worker holds: the transitions it may make, its heartbeat, and the backoff between
attempts. `runner.py` decides which transition an attempt makes; this module makes it."""

from __future__ import annotations

import contextvars
import datetime as dt
import logging
import random
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connections, transaction
from django.utils import timezone

from accounts.text import sentence
from gallery.models import Job, JobStage, WebhookEvent
from gallery.services import budgets, quota, results, webhooks
from gallery.services.jobs import job_send
from gallery.services.outages import database_retry
from providers import GenerationResult, ProviderError

logger = logging.getLogger(__name__)


def backoff_seconds(attempt: int, retry_after: float | None) -> float:
    """Exponential backoff with full jitter, never sooner than the provider's Retry-After."""
    ceiling = min(
        settings.JOB_RETRY_BASE_SECONDS * 2 ** (attempt - 1), settings.JOB_RETRY_MAX_SECONDS
    )
    delay = random.uniform(ceiling / 2, ceiling)
    return max(delay, retry_after or 0.0)


@dataclass
class HeldJob:
    """A job this worker has claimed; its methods are the transitions a worker may make."""

    job: Job
    lease: str

    @property
    def pk(self) -> int:
        return self.job.pk

    def requeue(self, *, delay: float, note: str) -> None:
        run_at = timezone.now() + dt.timedelta(seconds=delay)
        if self._transition(
            lambda: Job.objects.requeue(self.pk, lease=self.lease, run_at=run_at, note=note)
        ):
            transaction.on_commit(lambda: job_send(self.pk, at=run_at))

    def retry_or_fail(
        self,
        note: str,
        *,
        retry_after: float | None,
        final: str = "",
        error: BaseException | None = None,
    ) -> None:
        """Try again later while attempts remain (a call that may be in flight is always
        reconciled first); else fail with `final` (or the note)."""
        if self.job.stage == JobStage.CALLED or self.job.attempts < self.job.max_attempts:
            delay = backoff_seconds(self.job.attempts, retry_after)
            logger.info(
                "Job %s: trying again in %.0f s: %s",
                self.pk,
                delay,
                note,
                extra={"error_class": type(error).__name__ if error else None},
            )
            self.requeue(delay=delay, note=note)
        else:
            self.fail(final or note, error=error)

    def fail(
        self,
        message: str,
        *,
        cost: Decimal | None = None,
        currency: str = "",
        error: BaseException | None = None,
    ) -> None:
        now = timezone.now()
        if self._end(
            lambda: Job.objects.fail(
                self.pk, lease=self.lease, now=now, error=message, cost=cost, currency=currency
            ),
            event=WebhookEvent.JOB_FAILED,
            now=now,
            error=message,
        ):
            error_class = type(error).__name__ if error else None
            logger.warning(
                "Job %s failed%s: %s",
                self.pk,
                f" ({error_class})" if error_class else "",
                message,
                extra={"error_class": error_class},
            )
            _job_ended(self.job)

    def mark_called(self, *, balance_before: Decimal | None) -> bool:
        now = timezone.now()
        # Unanswered, a call may still be running at the provider for this long.
        conclusive_at = now + dt.timedelta(seconds=settings.JOB_RECONCILE_WAIT_SECONDS)
        if not self._transition(
            lambda: Job.objects.mark_called(
                self.pk,
                lease=self.lease,
                now=now,
                conclusive_at=conclusive_at,
                balance_before=balance_before,
            )
        ):
            return False
        self.job.stage, self.job.called_at = JobStage.CALLED, now
        self.job.history_conclusive_at, self.job.balance_before = conclusive_at, balance_before
        return True

    def mark_unanswered(self, exc: ProviderError) -> None:
        """The paid call ended without a clear answer: reconcile before anything else."""
        now = timezone.now()
        conclusive_at = None
        if exc.status is not None:  # it answered (5xx, garbled): the request is over
            conclusive_at = now + dt.timedelta(seconds=settings.JOB_RECONCILE_SETTLE_SECONDS)
        run_at = now + dt.timedelta(seconds=backoff_seconds(self.job.attempts, exc.retry_after))
        if self._transition(
            lambda: Job.objects.mark_unanswered(
                self.pk,
                lease=self.lease,
                run_at=run_at,
                reason=sentence(exc.message),
                conclusive_at=conclusive_at,
            )
        ):
            transaction.on_commit(lambda: job_send(self.pk, at=run_at))

    def mark_not_charged(self) -> bool:
        if not self._transition(lambda: Job.objects.mark_not_charged(self.pk, lease=self.lease)):
            return False
        self.job.stage, self.job.called_at = JobStage.NOT_CALLED, None
        return True

    def mark_paid(self, result: GenerationResult) -> bool:
        recorded: dict[str, Any] = {
            "refs": results.refs_for(result),
            "batch_id": result.batch_id or "",
            "provider_image_ids": [
                i.provider_image_id for i in result.images if i.provider_image_id
            ],
            "cost": result.cost,
            "currency": result.currency or "",
            "delivered": len(result.images),
            "warning": result.warning or "",
        }
        if not self._transition(
            lambda: Job.objects.mark_paid(self.pk, lease=self.lease, **recorded)
        ):
            return False
        self.job.stage, self.job.result_refs = JobStage.PAID, recorded["refs"]
        return True

    def succeed(self) -> None:
        now = timezone.now()
        if self._end(
            lambda: Job.objects.succeed(self.pk, lease=self.lease, now=now),
            event=WebhookEvent.JOB_SUCCEEDED,
            now=now,
        ):
            _job_ended(self.job)

    def _transition(self, update: Callable[[], bool]) -> bool:
        """Make a transition, riding out a brief database outage (`outages.database_retry`)."""
        return database_retry(update, what=f"Job {self.pk}")

    def _end(
        self, update: Callable[[], bool], *, event: str, now: dt.datetime, error: str = ""
    ) -> bool:
        """The job's last transition and its webhook delivery: one transaction, so an ending
        is told exactly when it happened (a database outage retries both together)."""

        def step() -> bool:
            with transaction.atomic():
                if not update():
                    return False
                webhooks.webhook_job_ended(job=self.job, event=event, finished_at=now, error=error)
                return True

        return self._transition(step)


@contextmanager
def heartbeat(job_id: int, lease: str) -> Iterator[None]:
    """Renew the job's heartbeat from a thread while the body runs (a provider call can block
    for minutes); it stops by itself once the job is no longer this worker's."""
    stop = threading.Event()

    def beat() -> None:
        try:
            while not stop.wait(settings.JOB_HEARTBEAT_SECONDS):
                try:
                    if not Job.objects.beat(job_id, lease=lease, now=timezone.now()):
                        return
                except DatabaseError as exc:  # a blip: the next beat tries again
                    logger.warning("Job %s: heartbeat not written (%s)", job_id, exc)
        finally:
            connections.close_all()  # this thread's own connections

    # The thread logs under the job's id too: it runs in a copy of this context.
    context = contextvars.copy_context()
    thread = threading.Thread(
        target=context.run, args=(beat,), name=f"job-{job_id}-heartbeat", daemon=True
    )
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _job_ended(job: Job) -> None:
    """Settle the job's reservation, and have the quota meter refreshed."""
    database_retry(lambda: budgets.budget_settle(job_id=job.pk), what=f"Job {job.pk}")
    quota.quota_refresh_after_job(workspace=job.workspace)
