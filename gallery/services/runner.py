"""A job on a worker: one attempt at moving it forward, never paying twice.

A job has a state (who has it) and a stage (how far the provider got). Every arrow is one
transition on `JobQuerySet`: a conditional UPDATE that reports whether it won, so two processes
can never both move a job. A held (RUNNING) job's transitions also name the worker's lease.

    submit ─▶ QUEUED ──claim──▶ RUNNING ──(succeed)──▶ SUCCEEDED
     (web)     ▲  │              │  │
               │  └─cancel─▶ CANCELLED (only at stage NOT_CALLED)
               │                 │  └──fail──▶ FAILED ──Retry at stage PAID: resume──▶ QUEUED
               └──── requeue ────┘
               └── release_stale (reaper: no heartbeat for JOB_STALE_SECONDS) ──┘

    stage, inside RUNNING:                                              cost at the provider
      NOT_CALLED ──mark_called──▶ CALLED ──mark_paid──▶ PAID             none │ one charge │ paid
          ▲   (then generate/edit)  │  │ (answer recorded before any download)
          └──── mark_not_charged ───┘  └─ outcome unknown: requeue, the next claim reconciles
            (refused by the provider, or its history shows the call never ran)

What one attempt does depends on the stage it finds:

- NOT_CALLED: build the request (an edit whose source is gone fails here, before any call),
  mark_called, call. Answered: mark_paid with the result, then store. Refused (4xx, 429, 5xx
  with a clear answer): mark_not_charged, then retry later or fail. Outcome unknown (timeout,
  cut connection, 504, garbled answer): requeue at stage CALLED.
- CALLED: reconcile with the provider's history (`reconcile.py`): adopt the batch that is ours
  (mark_paid), wait for it to appear, call again once it surely never ran, or fail when nobody
  can tell. A provider without history cannot tell: the job fails, "may have been charged".
- PAID: download, verify and store every recorded image, then succeed. A failed download, or
  a media storage that cannot be written ("Paid; the images are not stored yet"), is retried
  later; the provider is never called again. When tries run out the job fails at stage PAID,
  and Retry resumes storing it.

A job's ending (succeed, fail) and its webhook delivery (`webhooks.webhook_job_ended`) are one
transaction: the receiver hears of every ending, and only of endings that happened.

Every database step of an attempt (the claim, each transition, storing the rows) rides out a
brief database outage: it is tried again with backoff, the provider's answer kept in hand
(`outages.py`). Past JOB_DATABASE_RETRY_SECONDS the worker lets the job go like a dead one.

A worker holds a job while a heartbeat thread renews `heartbeat_at` every JOB_HEARTBEAT_SECONDS.
A worker that dies stops beating; the recovery tick (`jobs.jobs_recover`) hands its jobs back to
the queue after JOB_STALE_SECONDS, and the next claim carries on from the stage they were in.
Attempts count claims at stages NOT_CALLED and PAID; reconciling is bounded by time instead.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import logging
import random
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connections, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.connection import CredentialUnusable, provider_for
from accounts.models import Workspace
from accounts.text import sentence, stored_message_id
from config.logcontext import job_context
from gallery import ingest
from gallery.models import Image, Job, JobKind, JobStage, WebhookEvent
from gallery.services import budgets, quota, reconcile, results, webhooks
from gallery.services.jobs import job_send
from gallery.services.outages import DATABASE_UNREACHABLE, database_retry
from providers import (
    EditRequest,
    GenerateRequest,
    GenerationResult,
    ImageData,
    ImageProvider,
    ProviderError,
)

# Job errors are stored in English (the API shows them so) and translated when a page shows
# them (accounts.text.stored_text): marked with gettext_noop for the catalogue.
logger = logging.getLogger(__name__)

# With the values filled in (stored_message_id lets stored_text translate them all the same).
TRYING_AGAIN = stored_message_id(gettext_noop("%(reason)s. Trying again…"))
HISTORY_CHECK_FAILED = stored_message_id(
    gettext_noop("Checking the provider's history failed (%(reason)s); trying again…")
)
LOOK_AGAIN = stored_message_id(
    gettext_noop(
        "Waiting for the provider to show whether the last request went through; if nothing "
        "shows within %(within)s, it is sent again…"
    )
)
NEVER_RAN = {
    "history": (
        stored_message_id(
            gettext_noop(
                "%(reason)sThe provider's history shows that request never ran. Sending it again…"
            )
        ),
        stored_message_id(
            gettext_noop(
                "%(reason)sThe provider's history shows that request never ran. Gave up after "
                "%(attempts)s attempts; nothing was charged."
            )
        ),
    ),
    "balance": (
        stored_message_id(
            gettext_noop(
                "%(reason)sThe provider's balance shows that request never ran. Sending it again…"
            )
        ),
        stored_message_id(
            gettext_noop(
                "%(reason)sThe provider's balance shows that request never ran. Gave up after "
                "%(attempts)s attempts; nothing was charged."
            )
        ),
    ),
}
BALANCE_READ_FAILED = stored_message_id(
    gettext_noop("Reading the balance failed (%(reason)s); trying again…")
)
CHARGED_NO_IMAGES = stored_message_id(
    gettext_noop(
        "%(provider)s took %(amount)s USD for this request but returned no images, so it was "
        "not sent again. Ask the provider about the charge before retrying."
    )
)
STORE_RETRYING = stored_message_id(
    gettext_noop("Paid; the images are not stored yet: %(error)s. Trying again (no new charge)…")
)
STORE_GAVE_UP = stored_message_id(
    gettext_noop(
        "Paid, but the images are not stored: %(error)s. Once the storage is back, Retry "
        "download stores them without a new charge."
    )
)
DOWNLOAD_RETRYING = stored_message_id(
    gettext_noop("Downloading the images failed (%(error)s); trying again (no new charge)…")
)
DOWNLOAD_GAVE_UP = stored_message_id(
    gettext_noop(
        "The images were paid for but could not be downloaded (%(error)s). Retry downloads "
        "them again without a new charge."
    )
)
STORE_FAILED = stored_message_id(gettext_noop("The images could not be stored: %(error)s"))

MAY_HAVE_BEEN_CHARGED = gettext_noop(
    "The provider did not answer in time and may already have generated (and charged for) "
    "these images. Check the provider's own history before retrying."
)
CANNOT_TELL_WHICH = gettext_noop(
    "The provider did not answer in time. Its history has images that may be this job's, but "
    "other requests asked for the same thing, so Darkroom cannot tell which are this job's. "
    "They will appear in the gallery with the provider's history; check it before retrying."
)
BALANCE_CANNOT_TELL = gettext_noop(
    "The provider did not answer clearly, and its balance cannot show whether this request was "
    "charged (other requests used the same account at the time, or money was added). It was not "
    "sent again; check the provider's account before retrying."
)
SOURCE_FILE_MISSING = gettext_noop("The source image file is missing, so it cannot be edited.")
UNEXPECTED = gettext_noop(
    "Something went wrong on our side (the administrator can see it in the logs)."
)
QUOTA_REFRESH_DEBOUNCE_SECONDS = 5


class EditSourceUnusable(Exception):
    """The image to edit cannot be sent (deleted, file missing, not the provider's own)."""


def backoff_seconds(attempt: int, retry_after: float | None) -> float:
    """Exponential backoff with full jitter, never sooner than the provider's Retry-After."""
    ceiling = min(
        settings.JOB_RETRY_BASE_SECONDS * 2 ** (attempt - 1), settings.JOB_RETRY_MAX_SECONDS
    )
    delay = random.uniform(ceiling / 2, ceiling)
    return max(delay, retry_after or 0.0)


def job_run(*, job_id: int) -> None:
    """One attempt: claim the job, move it as far as it goes, give it back or end it."""
    with job_context(job_id):  # every line this attempt logs names the job
        _attempt(job_id)


def _attempt(job_id: int) -> None:
    lease = uuid.uuid4().hex
    what = f"Job {job_id}"
    if not database_retry(
        lambda: Job.objects.claim(job_id, lease=lease, now=timezone.now()), what=what
    ):
        return  # another worker has it, it is not due yet, or it has ended
    job = database_retry(
        lambda: Job.objects.select_related("workspace__credential", "parent_image").get(pk=job_id),
        what=what,
    )
    held = HeldJob(job, lease)
    with _heartbeat(job_id, lease):
        try:
            with provider_for(job.workspace.credential) as provider:
                _advance(held, provider)
        except CredentialUnusable as exc:
            held.fail(str(exc), error=exc)
        except ProviderError as exc:  # the client could not be built from the credential
            _refused(held, exc)
        except DATABASE_UNREACHABLE:
            # Down for longer than database_retry waits: let the job go as a dead worker would;
            # the reaper hands it back and the next claim resumes it from its stage.
            logger.exception(
                "Job %s: the database stayed unreachable at stage %s", job_id, job.stage
            )
        except Exception as exc:
            # Handled like a worker that died here: logged, then resumed from the stage it is
            # in (a call in flight is reconciled, never repeated blindly), attempts permitting.
            logger.exception("Job %s: unexpected error at stage %s", job_id, job.stage)
            held.retry_or_fail(UNEXPECTED, retry_after=None, error=exc)


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
            _after_finish(self.job)

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
            _after_finish(self.job)

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
def _heartbeat(job_id: int, lease: str) -> Iterator[None]:
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


def _advance(held: HeldJob, provider: ImageProvider) -> None:
    """Each step either moves the job to the next stage (True) or ends this attempt (False)."""
    if held.job.stage == JobStage.CALLED and not _reconcile(held, provider):
        return
    if held.job.stage == JobStage.NOT_CALLED and not _call(held, provider):
        return
    _store(held, provider)


# --- NOT_CALLED: call the provider ------------------------------------------------------------


def _call(held: HeldJob, provider: ImageProvider) -> bool:
    job = held.job
    try:
        request = _provider_request(job, provider)
    except EditSourceUnusable as exc:
        held.fail(str(exc), error=exc)
        return False
    except ProviderError as exc:  # looking up the edit's source image failed
        _refused(held, exc)
        return False
    if not held.mark_called(balance_before=_balance_for_reconciling(provider)):
        return False
    try:
        result = (
            provider.edit(request)
            if isinstance(request, EditRequest)
            else provider.generate(request)
        )
    except ProviderError as exc:
        # A paid call fails "unknown" unless the provider plainly refused it (providers/errors).
        if exc.outcome_unknown:
            held.mark_unanswered(exc)
        elif held.mark_not_charged():  # the provider refused: nothing was made
            _refused(held, exc)
        return False
    if held.mark_paid(result):
        return True
    logger.error(
        "Job %s: the provider answered after the job was handed to another worker, which will "
        "find these images in the history: %s",
        job.pk,
        [i.provider_image_id for i in result.images],
    )
    return False


def _balance_for_reconciling(provider: ImageProvider) -> Decimal | None:
    """Without a history, only the balance can tell later whether a lost call was charged."""
    if provider.capabilities.has_history or not provider.capabilities.has_quota:
        return None
    try:
        quota = provider.get_quota()
    except ProviderError as exc:
        logger.warning("Could not read the balance before a paid call: %s", exc)
        return None  # an answer lost now fails as "may have been charged"
    return quota.balance if quota.kind == "balance" else None


def _refused(held: HeldJob, exc: ProviderError) -> None:
    reason = sentence(exc.message)
    if exc.transient:
        held.retry_or_fail(
            TRYING_AGAIN % {"reason": reason},
            retry_after=exc.retry_after,
            final=reason,
            error=exc,
        )
    else:
        held.fail(reason, error=exc)


def _provider_request(job: Job, provider: ImageProvider) -> GenerateRequest | EditRequest:
    p = job.params
    common: dict[str, Any] = {
        "prompt": job.prompt,
        "model": job.model_id,
        "n": int(p.get("n", 1)),
        "aspect_ratio": p.get("aspect_ratio") or None,
        "size": p.get("size") or None,
        "output_format": p.get("output_format") or None,
        "seed": p.get("seed"),
        "extra": p.get("extra", {}),
    }
    if job.kind != JobKind.EDIT:
        return GenerateRequest(**common)
    parent = job.parent_image
    if parent is None or parent.deleted_at is not None:
        raise EditSourceUnusable(_("The image to edit was deleted."))
    if provider.capabilities.edit_source == "relative_url":
        if not parent.provider_image_id:
            raise EditSourceUnusable(_("This provider can only edit images it made itself."))
        if not parent.provider_url:
            # neuroflash's /edit accepts only the relative output_image_url its history shows.
            parent.provider_url = provider.get_image(parent.provider_image_id).relative_url or ""
            Image.objects.filter(pk=parent.pk).update(provider_url=parent.provider_url)
        return EditRequest(**common, source_urls=(parent.provider_url,))
    try:
        with parent.file.open("rb") as f:
            data = f.read()
    except (FileNotFoundError, ValueError):  # ValueError: the image has no file at all
        raise EditSourceUnusable(SOURCE_FILE_MISSING) from None
    return EditRequest(
        **common, source_images=(ImageData(data, f"image/{parent.format or 'png'}"),)
    )


# --- CALLED: reconcile ------------------------------------------------------------------------


def _reconcile(held: HeldJob, provider: ImageProvider) -> bool:
    job = held.job
    if not provider.capabilities.has_history:
        _reconcile_by_balance(held, provider)
        return False
    try:
        items = reconcile.history_since(provider, since=reconcile.window_start(job))
    except ProviderError as exc:
        waited = (timezone.now() - job.called_at).total_seconds() if job.called_at else 0.0
        if exc.transient and waited < settings.JOB_RECONCILE_WAIT_SECONDS:
            note = HISTORY_CHECK_FAILED % {"reason": sentence(exc.message)}
            held.requeue(delay=settings.JOB_RECONCILE_POLL_SECONDS, note=note)
        else:
            held.fail(f"{MAY_HAVE_BEEN_CHARGED} ({sentence(exc.message)})", error=exc)
        return False
    finding, adopted = database_retry(
        lambda: _judge_and_adopt(held, provider, items), what=f"Job {job.pk}"
    )
    if finding.verdict is reconcile.Verdict.FOUND:
        return adopted
    if finding.verdict is reconcile.Verdict.NOT_YET:
        _look_again_later(held)
    elif finding.verdict is reconcile.Verdict.NEVER_RAN:
        _never_ran(held, shown_by="history")
    elif finding.verdict is reconcile.Verdict.CANNOT_TELL:
        held.fail(CANNOT_TELL_WHICH)
    return False


def _judge_and_adopt(
    held: HeldJob, provider: ImageProvider, items: list[reconcile.HistoryItem]
) -> tuple[reconcile.Finding, bool]:
    """Judge the history and, when a batch is ours, record it: one transaction, which a database
    outage makes the caller run again whole."""
    job = held.job
    with transaction.atomic():
        # One adoption at a time per workspace: the batches judged free stay free until recorded.
        Workspace.objects.select_for_update().only("pk").get(pk=job.workspace_id)
        finding = reconcile.judge(job=job, items=items, now=timezone.now())
        if finding.verdict is not reconcile.Verdict.FOUND:
            return finding, False
        assert finding.batch is not None
        adopted = held.mark_paid(provider.result_from_history(finding.batch.items))
        if adopted:
            logger.info(
                "Job %s adopted batch %s (%d image(s)) from the provider's history",
                job.pk,
                finding.batch.batch_id,
                len(finding.batch.items),
            )
        return finding, adopted


def _look_again_later(held: HeldJob) -> None:
    left = (reconcile.conclusive_at(held.job) - timezone.now()).total_seconds()
    within = f"{left / 60:.0f} min" if left >= 90 else f"{max(left, 1):.0f} s"
    note = LOOK_AGAIN % {"within": within}
    held.requeue(delay=min(settings.JOB_RECONCILE_POLL_SECONDS, max(left, 0.5)), note=note)


def _never_ran(held: HeldJob, *, shown_by: str) -> None:
    """The lost call surely was not carried out: sent again by the next claim (an attempt)."""
    job = held.job
    if not held.mark_not_charged():
        return
    figures = {
        "reason": f"{job.unanswered_reason}. " if job.unanswered_reason else "",
        "attempts": job.attempts,
    }
    again, gave_up = NEVER_RAN[shown_by]
    held.retry_or_fail(again % figures, retry_after=None, final=gave_up % figures)


def _reconcile_by_balance(held: HeldJob, provider: ImageProvider) -> None:
    """No history (NanoGPT): the balance read before the call, against the balance now. Other
    calls on the same account meanwhile would blur the difference; then it stops and says so."""
    job = held.job
    if job.balance_before is None:
        held.fail(MAY_HAVE_BEEN_CHARGED)
        return
    if reconcile.others_called_meanwhile(job, now=timezone.now()):
        held.fail(BALANCE_CANNOT_TELL)
        return
    try:
        balance = provider.get_quota().balance
    except ProviderError as exc:
        if exc.transient and timezone.now() < reconcile.conclusive_at(job):
            note = BALANCE_READ_FAILED % {"reason": sentence(exc.message)}
            held.requeue(delay=settings.JOB_RECONCILE_POLL_SECONDS, note=note)
        else:
            held.fail(f"{MAY_HAVE_BEEN_CHARGED} ({sentence(exc.message)})", error=exc)
        return
    spent = job.balance_before - balance if balance is not None else None
    if spent is None or spent < 0:  # a top-up meanwhile hides any charge
        held.fail(BALANCE_CANNOT_TELL)
    elif spent > 0:
        held.fail(
            CHARGED_NO_IMAGES
            % {"provider": sentence(provider.name), "amount": f"{spent.normalize():f}"},
            cost=spent,
            currency="USD",
        )
    elif timezone.now() < reconcile.conclusive_at(job):
        _look_again_later(held)  # the request may still be running and charge later
    else:
        _never_ran(held, shown_by="balance")


# --- PAID: store ------------------------------------------------------------------------------


def _store(held: HeldJob, provider: ImageProvider) -> None:
    job = held.job
    try:
        # Safe to repeat: a retry after a database outage stores only what is not stored yet.
        database_retry(
            lambda: results.store_results(job=job, provider=provider), what=f"Job {job.pk}"
        )
    except ingest.StorageUnavailable as exc:
        if job.attempts < job.max_attempts:
            note = STORE_RETRYING % {"error": exc}
            held.requeue(delay=backoff_seconds(job.attempts, None), note=note)
        else:
            held.fail(STORE_GAVE_UP % {"error": exc})
        return
    except ingest.IngestError as exc:
        if exc.transient and job.attempts < job.max_attempts:
            note = DOWNLOAD_RETRYING % {"error": exc}
            held.requeue(delay=backoff_seconds(job.attempts, exc.retry_after), note=note)
        elif exc.transient:
            held.fail(DOWNLOAD_GAVE_UP % {"error": exc}, error=exc)
        else:
            held.fail(STORE_FAILED % {"error": exc}, error=exc)
        return
    held.succeed()


def _after_finish(job: Job) -> None:
    """Settle the job's reservation; refresh the quota once for a burst of jobs, a few seconds
    after the first finishes."""
    database_retry(lambda: budgets.budget_settle(job_id=job.pk), what=f"Job {job.pk}")
    key = f"darkroom:quota-refresh-pending:{job.workspace_id}"
    if cache.add(key, 1, timeout=QUOTA_REFRESH_DEBOUNCE_SECONDS):
        quota.quota_refresh_request(
            workspace=job.workspace, countdown=QUOTA_REFRESH_DEBOUNCE_SECONDS
        )
