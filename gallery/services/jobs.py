"""A job's life: submit (web) → run (worker) → succeeded / failed, never charged twice.

The web tier only writes a QUEUED row and enqueues a task after commit. The task claims the row
with a conditional UPDATE, so a duplicate or redelivered message finds nothing to do.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.connection import CredentialUnusable, provider_for
from accounts.models import User, Workspace
from accounts.text import sentence
from gallery.models import Image, Job, JobKind, JobState
from gallery.selectors import quota_latest
from gallery.services import results
from providers import (
    EditRequest,
    GenerateRequest,
    GenerationResult,
    ImageData,
    ImageProvider,
    MalformedResponseError,
    ProviderError,
)

logger = logging.getLogger(__name__)

MAY_HAVE_BEEN_CHARGED = (
    "The provider did not answer in time and may already have generated (and charged for) "
    "these images. Check the provider's own history before retrying."
)


class SubmitRefused(Exception):
    """The request is fine but cannot run now (quota, running-job cap, rate limit)."""


@dataclass(frozen=True)
class JobRequest:
    kind: str
    prompt: str
    model_id: str
    params: dict[str, Any] = field(default_factory=dict)
    parent_image: Image | None = None


# --- Submit (web tier) ------------------------------------------------------------------------


def _preflight(*, workspace: Workspace, author: User, n_images: int) -> None:
    active_params = list(
        Job.objects.filter(workspace=workspace).active().values_list("params", flat=True)
    )
    cap = settings.JOBS_MAX_ACTIVE_PER_WORKSPACE
    if len(active_params) >= cap:
        raise SubmitRefused(
            f"{cap} jobs are already queued or running in this workspace. "
            "Wait for one to finish, or cancel one."
        )
    per_minute = settings.JOBS_PER_MEMBER_PER_MINUTE
    recent = Job.objects.filter(
        author=author, created_at__gte=timezone.now() - dt.timedelta(minutes=1)
    )
    if recent.count() >= per_minute:
        raise SubmitRefused(f"You can start {per_minute} jobs a minute. Try again in a moment.")
    snapshot = quota_latest(workspace=workspace)
    if snapshot is None or snapshot.images_left is None:
        return
    # Images that queued and running jobs will use are not in the snapshot yet.
    reserved = sum(int(params.get("n", 1)) for params in active_params)
    left = max(snapshot.images_left - reserved, 0)
    if n_images > left:
        period = "today" if snapshot.images_left != snapshot.monthly_available else "this month"
        noun = "image" if n_images == 1 else "images"
        raise SubmitRefused(f"{n_images} {noun} requested, {left} left {period}.")


def job_submit(
    *, workspace: Workspace, author: User, request: JobRequest, idempotency_key: str
) -> Job:
    """Queue a job, or return the one this idempotency key already made. Raises SubmitRefused."""
    existing = Job.objects.filter(workspace=workspace, idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    _preflight(workspace=workspace, author=author, n_images=int(request.params.get("n", 1)))
    try:
        with transaction.atomic():
            job = Job.objects.create(
                workspace=workspace,
                author=author,
                kind=request.kind,
                prompt=request.prompt,
                model_id=request.model_id,
                params=request.params,
                parent_image=request.parent_image,
                idempotency_key=idempotency_key,
                max_attempts=settings.JOB_MAX_ATTEMPTS,
            )
    except IntegrityError:  # the same key submitted twice at the same moment
        return Job.objects.get(workspace=workspace, idempotency_key=idempotency_key)
    _enqueue(job)
    return job


def job_retry(*, job: Job, author: User, idempotency_key: str) -> Job:
    """A new job with the same settings as a failed or cancelled one."""
    request = JobRequest(job.kind, job.prompt, job.model_id, dict(job.params), job.parent_image)
    new = job_submit(
        workspace=job.workspace, author=author, request=request, idempotency_key=idempotency_key
    )
    if new.retry_of_id is None and new.pk != job.pk:
        Job.objects.filter(pk=new.pk).update(retry_of=job)
    return new


def job_cancel(*, job: Job) -> bool:
    """Cancel a job that has not started; False when a worker already has it."""
    return bool(
        Job.objects.filter(
            pk=job.pk, state=JobState.QUEUED, provider_call_started_at__isnull=True
        ).update(
            state=JobState.CANCELLED,
            finished_at=timezone.now(),
            error="Cancelled before it started.",
        )
    )


def _enqueue(job: Job, *, countdown: float | None = None) -> None:
    from gallery.tasks import run_job

    if countdown is None:
        run_job.delay_on_commit(job.pk)
    else:
        transaction.on_commit(lambda: run_job.apply_async((job.pk,), countdown=countdown))


# --- Run (worker) -----------------------------------------------------------------------------


@dataclass(frozen=True)
class RetryLater:
    countdown: float


def backoff_seconds(attempt: int, retry_after: float | None) -> float:
    """Exponential backoff with full jitter, never sooner than the provider's Retry-After."""
    ceiling = min(
        settings.JOB_RETRY_BASE_SECONDS * 2 ** (attempt - 1), settings.JOB_RETRY_MAX_SECONDS
    )
    delay = random.uniform(ceiling / 2, ceiling)
    return max(delay, retry_after or 0.0)


def job_claim(*, job_id: int) -> Job | None:
    now = timezone.now()
    claimed = Job.objects.filter(pk=job_id, state=JobState.QUEUED).update(
        state=JobState.RUNNING,
        started_at=Coalesce("started_at", now),
        claimed_at=now,
        attempts=F("attempts") + 1,
        next_attempt_at=None,
    )
    if not claimed:
        return None
    return Job.objects.select_related("workspace__credential", "parent_image").get(pk=job_id)


def job_run(*, job_id: int) -> RetryLater | None:
    """Run one attempt of a job. Returns RetryLater when the task should try again."""
    job = job_claim(job_id=job_id)
    if job is None:
        return None  # someone else has it, or it is finished or cancelled
    try:
        with provider_for(job.workspace.credential) as provider:
            return _attempt(job, provider)
    except CredentialUnusable as exc:
        _fail(job, str(exc))
    except _CallFailed as failed:
        return _handle_call_error(job, failed.error)
    except ProviderError as exc:  # reconciling or downloading: the marker stays as it is
        if exc.transient and job.attempts < job.max_attempts:
            return _requeue(job, f"{sentence(exc.message)}. Trying again…", exc)
        _fail(job, sentence(exc.message))
    except results.IngestFailed as exc:
        if exc.transient and job.attempts < job.max_attempts:
            return _requeue(job, f"Downloading the images failed ({exc}); trying again.", None)
        _fail(job, f"The images could not be stored: {exc}")
    return None


def _attempt(job: Job, provider: ImageProvider) -> RetryLater | None:
    if not job.result_refs:
        if job.provider_call_started_at is not None:
            adopted = _reconcile(job, provider)
            if adopted is None:
                return None  # failed with "may already have been charged"
            if not adopted:
                # A request we gave up on may still be running at the provider: its images show
                # up in the history only when it finishes. Look again before paying twice.
                waited = (timezone.now() - job.provider_call_started_at).total_seconds()
                if waited < settings.JOB_RECONCILE_WAIT_SECONDS:
                    return _check_again_later(job, settings.JOB_RECONCILE_WAIT_SECONDS - waited)
                Job.objects.filter(pk=job.pk).update(provider_call_started_at=None)
                job.provider_call_started_at = None
        if not job.result_refs:
            _call_provider(job, provider)
    results.store_results(job=job, provider=provider)
    _succeed(job)
    return None


def _call_provider(job: Job, provider: ImageProvider) -> None:
    Job.objects.filter(pk=job.pk).update(provider_call_started_at=timezone.now())
    job.provider_call_started_at = timezone.now()
    request = _provider_request(job, provider)
    try:
        if isinstance(request, EditRequest):
            result = provider.edit(request)
        else:
            result = provider.generate(request)
    except ProviderError as exc:
        raise _CallFailed(exc) from exc
    _record_result(job, result)


class _CallFailed(Exception):
    """The paid call itself failed (as opposed to a history lookup or a download)."""

    def __init__(self, error: ProviderError) -> None:
        super().__init__(error.message)
        self.error = error


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
    if parent is None:
        raise results.IngestFailed("the image to edit was deleted", transient=False)
    if provider.capabilities.edit_source == "relative_url":
        if not parent.provider_image_id:
            raise results.IngestFailed(
                "this provider can only edit images it made itself", transient=False
            )
        if not parent.provider_url:
            # neuroflash's /edit accepts only the relative output_image_url its history shows.
            parent.provider_url = provider.get_image(parent.provider_image_id).relative_url or ""
            Image.objects.filter(pk=parent.pk).update(provider_url=parent.provider_url)
        return EditRequest(**common, source_urls=(parent.provider_url,))
    with parent.file.open("rb") as f:
        data = f.read()
    return EditRequest(
        **common, source_images=(ImageData(data, f"image/{parent.format or 'png'}"),)
    )


def _record_result(job: Job, result: GenerationResult) -> None:
    job.result_refs = [
        {"id": image.provider_image_id, "url": image.url, "content_type": image.content_type}
        for image in result.images
    ]
    results.remember_inline_data(job, result)
    job.batch_id = result.batch_id or ""
    job.provider_image_ids = [i.provider_image_id for i in result.images if i.provider_image_id]
    job.cost = result.cost
    job.currency = result.currency or ""
    job.provider_call_started_at = None
    job.save(
        update_fields=[
            "result_refs",
            "batch_id",
            "provider_image_ids",
            "cost",
            "currency",
            "provider_call_started_at",
        ]
    )


def _reconcile(job: Job, provider: ImageProvider) -> bool | None:
    """An earlier attempt called the provider and never heard back: did it generate?

    neuroflash keeps a history, so look for images of this prompt and model made since the call
    and adopt them. A provider without history cannot tell us: fail rather than pay twice.
    Returns True (adopted), False (nothing there yet) or None (job failed).
    """
    if not provider.capabilities.has_history:
        _fail(job, MAY_HAVE_BEEN_CHARGED)
        return None
    since = job.provider_call_started_at - dt.timedelta(
        seconds=settings.JOB_RECONCILE_SLACK_SECONDS
    )
    matches = []
    for page in provider.history_pages(page_size=100):
        for item in page:
            if item.created_at is not None and item.created_at < since:
                break
            if item.prompt == job.prompt and (item.model or job.model_id) == job.model_id:
                matches.append(item)
        else:
            continue
        break
    if not matches:
        return False
    batch = matches[-1].batch_id  # the oldest match is the earliest call
    adopted = [m for m in matches if m.batch_id == batch][: job.n_images]
    _record_result(
        job,
        GenerationResult(
            images=tuple(results.result_from_history(item) for item in adopted),
            batch_id=batch,
        ),
    )
    logger.info("Job %s adopted %d image(s) from the provider's history", job.pk, len(adopted))
    return True


def _handle_call_error(job: Job, exc: ProviderError) -> RetryLater | None:
    # A garbled 2xx to a generate call most likely means the images were made and charged.
    if exc.outcome_unknown or isinstance(exc, MalformedResponseError):
        # Keep the marker: the next attempt reconciles before calling again.
        if job.attempts < job.max_attempts:
            note = f"{sentence(exc.message)}. Checking whether it went through…"
            return _requeue(job, note, exc)
        _fail(job, MAY_HAVE_BEEN_CHARGED)
        return None
    # The provider answered with a refusal: nothing was made, a new call is safe.
    Job.objects.filter(pk=job.pk).update(provider_call_started_at=None)
    if exc.transient and job.attempts < job.max_attempts:
        return _requeue(job, f"{sentence(exc.message)}. Trying again…", exc)
    _fail(job, sentence(exc.message))
    return None


def _check_again_later(job: Job, remaining: float) -> RetryLater:
    """Poll the provider's history again; polling is not an attempt (nothing is charged)."""
    delay = min(max(remaining, 0.5), settings.JOB_RECONCILE_POLL_SECONDS)
    Job.objects.filter(pk=job.pk, state=JobState.RUNNING).update(
        state=JobState.QUEUED,
        attempts=F("attempts") - 1,
        error="Waiting for the provider to show whether the last request went through…",
        next_attempt_at=timezone.now() + dt.timedelta(seconds=delay),
    )
    return RetryLater(countdown=delay)


def _requeue(job: Job, note: str, exc: ProviderError | None) -> RetryLater:
    delay = backoff_seconds(job.attempts, getattr(exc, "retry_after", None))
    Job.objects.filter(pk=job.pk, state=JobState.RUNNING).update(
        state=JobState.QUEUED,
        error=note,
        next_attempt_at=timezone.now() + dt.timedelta(seconds=delay),
    )
    return RetryLater(countdown=delay)


def _succeed(job: Job) -> None:
    Job.objects.filter(pk=job.pk).update(
        state=JobState.SUCCEEDED, finished_at=timezone.now(), error="", result_refs=[]
    )
    _after_finish(job)


def _fail(job: Job, message: str) -> None:
    Job.objects.filter(pk=job.pk).update(
        state=JobState.FAILED, finished_at=timezone.now(), error=message
    )
    _after_finish(job)


QUOTA_REFRESH_DEBOUNCE_SECONDS = 5


def _after_finish(job: Job) -> None:
    """Refresh the quota once for a burst of jobs, a few seconds after the first finishes."""
    from gallery.tasks import refresh_quota

    key = f"darkroom:quota-refresh-pending:{job.workspace_id}"
    if cache.add(key, 1, timeout=QUOTA_REFRESH_DEBOUNCE_SECONDS):
        transaction.on_commit(
            lambda: refresh_quota.apply_async(
                (job.workspace_id,), countdown=QUOTA_REFRESH_DEBOUNCE_SECONDS
            )
        )


# --- Reaper -----------------------------------------------------------------------------------


def jobs_reap_stuck() -> int:
    """Hand jobs stuck in RUNNING (their worker died) back to the queue; the next attempt
    reconciles with the provider before calling it again. Returns how many."""
    cutoff = timezone.now() - dt.timedelta(seconds=settings.JOB_STUCK_SECONDS)
    stuck = list(
        Job.objects.filter(state=JobState.RUNNING, claimed_at__lt=cutoff).values_list(
            "pk", flat=True
        )
    )
    for pk in stuck:
        if Job.objects.filter(pk=pk, state=JobState.RUNNING, claimed_at__lt=cutoff).update(
            state=JobState.QUEUED, error="The worker stopped mid-job; resuming."
        ):
            _enqueue(Job(pk=pk))
    return len(stuck)
