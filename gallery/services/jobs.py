"""Submitting jobs (web tier), and the outbox that gets them to a worker whatever is lost.

The database is the queue's source of truth. `job_submit` writes a QUEUED row and sends a message
once the row is committed; if the broker is down, or the message is lost later (a worker that
died holding it, a purged queue, a retry countdown in a killed worker), the recovery tick that
beat runs every few seconds (`jobs_recover`) sends it again. Duplicate messages are harmless: a
worker must claim the row (a conditional UPDATE) before it does anything. What a worker then does
with a job, and the state diagram, is in `gallery/services/runner.py`.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from kombu.exceptions import OperationalError

from accounts.models import Membership, User, Workspace
from config.celery import send_task
from gallery.costs import CostEstimate, InFlight, cost_estimate, money
from gallery.models import (
    CatalogModel,
    Comparison,
    Image,
    Job,
    JobState,
    QuotaSnapshot,
    WebhookEvent,
)
from gallery.selectors import in_flight, quota_latest
from gallery.services.budgets import BudgetRefused, budget_reserve, budget_settle
from gallery.services.webhooks import webhook_job_ended

logger = logging.getLogger(__name__)

WORKERS_UNREACHABLE = (
    "Queued. The workers cannot be reached right now; the job starts when they are back."
)
WORKER_LOST = gettext_noop("The worker stopped mid-job; resuming.")
# How many due jobs one recovery tick sends at most (the next tick takes the rest).
DISPATCH_BATCH = 200


class Refusal:
    """Why a submit was refused: the API answers each with its own status code."""

    BUSY = "busy"  # the workspace's cap on queued and running jobs
    RATE = "rate"  # the member's jobs a minute
    QUOTA = "quota"  # the provider's reported images left or balance
    BUDGET = "budget"  # the member's or the workspace's budget here


class SubmitRefused(Exception):
    """The request is fine but cannot run now (quota, running-job cap, rate limit, budget).
    `reason`: one of `Refusal`. `lacking`: how much more the member's own budget needs, when
    that is the reason. `retry_after`: seconds until it would be accepted, when that is known."""

    def __init__(
        self,
        message: str,
        *,
        reason: str,
        lacking: Decimal | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.reason = reason
        self.lacking = lacking
        self.retry_after = retry_after


@dataclass(frozen=True)
class JobRequest:
    """What a person asked for: the validated form, before it becomes a Job."""

    kind: str
    prompt: str
    model_id: str
    params: dict[str, Any] = field(default_factory=dict)
    parent_image: Image | None = None


# --- Submit -----------------------------------------------------------------------------------


def _preflight(
    *, workspace: Workspace, author: User, n_images: int, estimate: CostEstimate
) -> None:
    cap = settings.JOBS_MAX_ACTIVE_PER_WORKSPACE
    if Job.objects.filter(workspace=workspace).active().count() >= cap:
        raise SubmitRefused(
            _(
                "%(cap)s jobs are already queued or running in this workspace. Wait for one to "
                "finish, or cancel one."
            )
            % {"cap": cap},
            reason=Refusal.BUSY,
        )
    per_minute = settings.JOBS_PER_MEMBER_PER_MINUTE
    now = timezone.now()
    recent = Job.objects.filter(author=author, created_at__gte=now - dt.timedelta(minutes=1))
    if recent.count() >= per_minute:
        # The oldest of the minute's jobs leaves the window first (one more query, refused only).
        first = recent.order_by("-created_at").values_list("created_at", flat=True)[per_minute - 1]
        wait = (first + dt.timedelta(minutes=1) - now).total_seconds()
        raise SubmitRefused(
            _("You can start %(per_minute)s jobs a minute. Try again in a moment.")
            % {"per_minute": per_minute},
            reason=Refusal.RATE,
            retry_after=max(int(wait) + 1, 1),
        )
    snapshot = quota_latest(workspace=workspace)
    if snapshot is None or (snapshot.balance is None and snapshot.images_left is None):
        return
    # What queued jobs reserved and jobs ended since the report took: not in the report yet
    # (the cost preview counts the same, `gallery.selectors.in_flight`).
    pending = in_flight(workspace=workspace, since=snapshot.taken_at)
    if snapshot.balance is not None:
        _check_balance(balance=snapshot, estimate=estimate, pending=pending)
    if snapshot.images_left is None:
        return
    left = max(snapshot.images_left - pending.images, 0)
    if n_images > left:
        noun = "image" if n_images == 1 else "images"
        raise SubmitRefused(
            _("%(n_images)s %(noun)s requested, %(left)s left %(limiting_period)s.")
            % {
                "n_images": n_images,
                "noun": noun,
                "left": left,
                "limiting_period": snapshot.limiting_period,
            },
            reason=Refusal.QUOTA,
        )


def _check_balance(*, balance: QuotaSnapshot, estimate: CostEstimate, pending: InFlight) -> None:
    """Refuse a request the provider's last reported balance, less what is pending, cannot pay
    for (a price the catalog does not state is not refused here)."""
    assert balance.balance is not None
    if estimate.amount is None or balance.currency not in ("", estimate.currency):
        return
    queued = pending.amounts.get(estimate.currency, Decimal(0))
    left = max(balance.balance - queued, Decimal(0))
    if estimate.amount > left:
        after = " after recent jobs" if queued else ""
        raise SubmitRefused(
            _(
                "This costs ≈ %(value)s; the provider's balance is %(value2)s%(after)s. Top up "
                "the account with the provider, or choose fewer images or a cheaper model."
            )
            % {
                "value": money(estimate.amount, estimate.currency),
                "value2": money(left, estimate.currency),
                "after": after,
            },
            reason=Refusal.QUOTA,
        )


def job_submit(
    *,
    workspace: Workspace,
    author: User,
    request: JobRequest,
    idempotency_key: str,
    comparison: Comparison | None = None,
) -> Job:
    """Queue a job, or return the one this author's idempotency key already made (a key is
    the author's own: another member's same key never returns their job). Raises SubmitRefused.

    When the broker cannot be reached the job is queued all the same, with WORKERS_UNREACHABLE
    as its note; the dispatcher sends it once the broker is back.
    """
    mine = Job.objects.filter(workspace=workspace, author=author, idempotency_key=idempotency_key)
    existing = mine.first()
    if existing is not None:
        return existing
    estimate = request_estimate(workspace, request)
    n_images = int(request.params.get("n", 1))
    _preflight(workspace=workspace, author=author, n_images=n_images, estimate=estimate)
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
                comparison=comparison,
                max_attempts=settings.JOB_MAX_ATTEMPTS,
                dispatched_at=timezone.now(),
            )
            # In the job's own transaction: a refusal rolls the job back, and a job is never
            # queued without its reservation (an idempotent re-submit returned above).
            budget_reserve(job=job, user=author, estimate=estimate)
    except IntegrityError:  # the same key submitted twice at the same moment
        return mine.get()
    except BudgetRefused as exc:
        raise SubmitRefused(str(exc), reason=Refusal.BUDGET, lacking=exc.lacking) from exc
    transaction.on_commit(lambda: _send_or_note(job))
    return job


def request_estimate(workspace: Workspace, request: JobRequest) -> CostEstimate:
    """The cost to reserve, in what the workspace's provider counts (`gallery.costs`)."""
    credential = getattr(workspace, "credential", None)
    quota_kind = credential.capabilities.quota_kind if credential is not None else None
    n = int(request.params.get("n", 1))
    model = CatalogModel.objects.filter(
        workspace=workspace, provider_model_id=request.model_id
    ).first()
    if model is None:  # not in the catalog (yet): a quota still counts images, a price is unknown
        return CostEstimate(images=n, quota_kind=quota_kind)
    size = request.params.get("size")
    return cost_estimate(
        model=model, n=n, size=str(size) if size else None, quota_kind=quota_kind, quota=None
    )


def _send_or_note(job: Job) -> None:
    if not job_send(job.pk):
        job.error = WORKERS_UNREACHABLE
        Job.objects.filter(pk=job.pk, state=JobState.QUEUED, error="").update(error=job.error)


def job_retry(*, job: Job, author: User, idempotency_key: str) -> Job:
    """Try a failed or cancelled job again.

    A job that failed after the provider was paid stores that result again (the same job,
    never a second charge); any other becomes a new job with the same settings.
    """
    if job.retry_resumes:
        if Job.objects.resume(job.pk, now=timezone.now(), max_attempts=settings.JOB_MAX_ATTEMPTS):
            transaction.on_commit(lambda: job_send(job.pk))
        return job
    request = JobRequest(job.kind, job.prompt, job.model_id, dict(job.params), job.parent_image)
    new = job_submit(
        workspace=job.workspace, author=author, request=request, idempotency_key=idempotency_key
    )
    if new.retry_of_id is None and new.pk != job.pk:
        Job.objects.filter(pk=new.pk).update(retry_of=job)
    return new


def job_cancel(*, job: Job, membership: Membership) -> bool:
    """Cancel a job that nothing was sent to the provider for; False when it is too late.

    Raises PermissionDenied for anyone but its author or an admin."""
    if not job.cancel_permitted_to(membership):
        raise PermissionDenied(_("Only the person who started this job or an admin can cancel it."))
    now = timezone.now()
    with transaction.atomic():
        if not Job.objects.cancel(job.pk, now=now):
            return False
        webhook_job_ended(job=job, event=WebhookEvent.JOB_CANCELLED, finished_at=now)
    budget_settle(job_id=job.pk)  # nothing was sent: the whole reservation is released
    return True


# --- The outbox -------------------------------------------------------------------------------


def job_send(job_id: int, *, at: dt.datetime | None = None) -> bool:
    """Put a message for the job on the broker, to be run at `at` (now when None).

    False when the broker cannot be reached; nothing is lost then, because the job is still
    QUEUED in the database and the dispatcher sends it again.
    """
    try:
        send_task("gallery.tasks.run_job", job_id, eta=at if at and at > timezone.now() else None)
    except (OperationalError, OSError) as exc:
        logger.warning("Job %s: the broker is unreachable (%s); it stays queued", job_id, exc)
        return False
    return True


@dataclass(frozen=True)
class Recovery:
    released: int  # RUNNING jobs whose worker stopped beating, handed back to the queue
    sent: int  # QUEUED jobs whose message was missing, sent again


def jobs_recover() -> Recovery:
    """The recovery tick (beat, every JOB_DISPATCH_SECONDS): hand back the jobs of dead workers,
    then send every due QUEUED job whose message has not arrived.

    Two ticks at once are safe: releasing and marking as dispatched are conditional UPDATEs,
    and a job reaches a worker only through its claim.
    """
    now = timezone.now()
    released = Job.objects.release_stale(
        cutoff=now - dt.timedelta(seconds=settings.JOB_STALE_SECONDS), note=WORKER_LOST
    )
    if released:
        logger.warning("Released %d job(s) whose worker stopped; resuming them", released)
    resend_before = now - dt.timedelta(seconds=settings.JOB_REDISPATCH_SECONDS)
    due = Job.objects.due(now=now, resend_before=resend_before).order_by("created_at", "pk")
    sent = 0
    for job_id in due.values_list("pk", flat=True)[:DISPATCH_BATCH]:
        if not Job.objects.mark_dispatched(job_id, at=now, resend_before=resend_before):
            continue  # another tick has just sent it
        if not job_send(job_id):
            break  # the broker is down; the next tick tries again
        sent += 1
    return Recovery(released=released, sent=sent)
