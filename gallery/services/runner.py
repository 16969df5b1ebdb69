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

import logging
import uuid
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.connection import CredentialUnusable, provider_for
from accounts.models import Workspace
from accounts.text import sentence
from config.logcontext import job_context
from gallery import ingest
from gallery.models import Image, Job, JobKind, JobStage
from gallery.services import reconcile, results
from gallery.services.held import HeldJob, backoff_seconds, heartbeat
from gallery.services.job_errors import (
    BALANCE_CANNOT_TELL,
    BALANCE_READ_FAILED,
    CANNOT_TELL_WHICH,
    CHARGED_NO_IMAGES,
    DOWNLOAD_GAVE_UP,
    DOWNLOAD_RETRYING,
    HISTORY_CHECK_FAILED,
    LOOK_AGAIN,
    MAY_HAVE_BEEN_CHARGED,
    NEVER_RAN,
    SOURCE_FILE_MISSING,
    STORE_FAILED,
    STORE_GAVE_UP,
    STORE_RETRYING,
    TRYING_AGAIN,
    UNEXPECTED,
)
from gallery.services.outages import DATABASE_UNREACHABLE, database_retry
from providers import (
    EditRequest,
    GenerateRequest,
    ImageData,
    ImageProvider,
    ProviderError,
)

logger = logging.getLogger(__name__)


class EditSourceUnusable(Exception):
    """The image to edit cannot be sent (deleted, file missing, not the provider's own)."""


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
    with heartbeat(job_id, lease):
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
