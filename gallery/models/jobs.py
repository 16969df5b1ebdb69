"""Jobs: one request to the provider, its state machine and what was paid for."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Case, F, Q, Value, When
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop, ngettext

from accounts.models import Membership, Workspace
from accounts.text import stored_message_id, stored_text
from gallery.costs import spent_text


class JobKind(models.TextChoices):
    TEXT2IMAGE = "text2image", gettext_lazy("Generate")
    EDIT = "edit", gettext_lazy("Edit")


class JobState(models.TextChoices):
    """Who has the job: nobody yet (queued), a worker (running), or nobody ever again."""

    QUEUED = "queued", gettext_lazy("Queued")
    RUNNING = "running", gettext_lazy("Running")
    SUCCEEDED = "succeeded", gettext_lazy("Done")
    FAILED = "failed", gettext_lazy("Failed")
    CANCELLED = "cancelled", gettext_lazy("Cancelled")


class JobStage(models.TextChoices):
    """How far the provider got: what the next worker must do, and what may have been paid."""

    NOT_CALLED = "not_called", gettext_lazy("Not sent")  # safe to call the provider
    CALLED = (
        "called",
        gettext_lazy("Sent, answer not recorded"),
    )  # may be charged: reconcile before calling
    PAID = (
        "paid",
        gettext_lazy("Paid, images not stored yet"),
    )  # store the recorded result; never call again


ACTIVE_STATES = (JobState.QUEUED, JobState.RUNNING)
CLAIM_TOLERANCE_SECONDS = 0.5
# Stored in English, shown in the reader's language (accounts.text.stored_text).
CHECKING_WHETHER = stored_message_id(gettext_noop("%(reason)s. Checking whether it went through…"))


class JobQuerySet(models.QuerySet["Job"]):
    """A job's transitions, each a conditional UPDATE that says whether this caller won.

    The diagram and who calls what: `gallery/services/runner.py`. A worker holds a RUNNING job
    through its `lease`; every transition of a held job names that lease, so a worker that lost
    its job (its heartbeat went stale and the reaper handed the job on) can no longer move it.
    """

    def active(self) -> JobQuerySet:
        return self.filter(state__in=ACTIVE_STATES)

    def _held(self, job_id: int, lease: str, **expected: object) -> JobQuerySet:
        return self.filter(pk=job_id, state=JobState.RUNNING, lease=lease, **expected)

    # -- a worker takes the job, keeps it alive, or gives it back ------------------------------

    def claim(self, job_id: int, *, lease: str, now: dt.datetime) -> bool:
        """QUEUED -> RUNNING, once due. Reconciling an earlier call is not counted as an attempt.

        A message that arrives early (a duplicate while the job waits for its backoff) finds
        nothing to claim, so Retry-After holds whatever the broker does. A countdown timer may
        fire a moment early, hence the small tolerance."""
        due_by = now + dt.timedelta(seconds=CLAIM_TOLERANCE_SECONDS)
        return bool(
            self.filter(
                Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=due_by),
                pk=job_id,
                state=JobState.QUEUED,
            ).update(
                state=JobState.RUNNING,
                lease=lease,
                claimed_at=now,
                heartbeat_at=now,
                started_at=Coalesce("started_at", Value(now)),
                attempts=F("attempts")
                + Case(
                    When(stage=JobStage.CALLED, then=Value(0)),
                    default=Value(1),
                    output_field=models.IntegerField(),
                ),
                next_attempt_at=None,
                error="",
            )
        )

    def beat(self, job_id: int, *, lease: str, now: dt.datetime) -> bool:
        return bool(self._held(job_id, lease).update(heartbeat_at=now))

    def requeue(self, job_id: int, *, lease: str, run_at: dt.datetime, note: str) -> bool:
        """RUNNING -> QUEUED, to be taken up again at `run_at` (the caller sends a message due
        then; the dispatcher sends another if it does not arrive). The stage stays as it is."""
        return bool(
            self._held(job_id, lease).update(
                state=JobState.QUEUED,
                lease="",
                heartbeat_at=None,
                next_attempt_at=run_at,
                dispatched_at=run_at,
                error=note,
            )
        )

    def release_stale(self, *, cutoff: dt.datetime, note: str) -> int:
        """RUNNING -> QUEUED for every job whose worker stopped beating before `cutoff`."""
        return self.filter(state=JobState.RUNNING, heartbeat_at__lt=cutoff).update(
            state=JobState.QUEUED,
            lease="",
            heartbeat_at=None,
            next_attempt_at=None,
            dispatched_at=None,
            error=note,
        )

    # -- the provider call ---------------------------------------------------------------------

    def mark_called(
        self,
        job_id: int,
        *,
        lease: str,
        now: dt.datetime,
        conclusive_at: dt.datetime,
        balance_before: Decimal | None = None,
    ) -> bool:
        """NOT_CALLED -> CALLED, just before the paid request leaves. Should its answer be lost,
        the provider's history (or balance) shows for sure whether it ran by `conclusive_at`."""
        return bool(
            self._held(job_id, lease, stage=JobStage.NOT_CALLED).update(
                stage=JobStage.CALLED,
                called_at=now,
                history_conclusive_at=conclusive_at,
                unanswered_reason="",
                balance_before=balance_before,
            )
        )

    def mark_unanswered(
        self,
        job_id: int,
        *,
        lease: str,
        run_at: dt.datetime,
        reason: str,
        conclusive_at: dt.datetime | None,
    ) -> bool:
        """RUNNING·CALLED -> QUEUED·CALLED: the paid call ended without a clear answer (`reason`);
        the next claim reconciles at `run_at`. An error answer means the request is over, so the
        history settles sooner (`conclusive_at`); no answer at all keeps the full wait."""
        changes: dict[str, object] = {}
        if conclusive_at is not None:
            changes["history_conclusive_at"] = conclusive_at
        return bool(
            self._held(job_id, lease, stage=JobStage.CALLED).update(
                state=JobState.QUEUED,
                lease="",
                heartbeat_at=None,
                next_attempt_at=run_at,
                dispatched_at=run_at,
                unanswered_reason=reason,
                error=CHECKING_WHETHER % {"reason": reason},
                **changes,
            )
        )

    def mark_not_charged(self, job_id: int, *, lease: str) -> bool:
        """CALLED -> NOT_CALLED: the provider refused, or its history shows the call never ran."""
        return bool(
            self._held(job_id, lease, stage=JobStage.CALLED).update(
                stage=JobStage.NOT_CALLED, called_at=None
            )
        )

    def mark_paid(
        self, job_id: int, *, lease: str, refs: list[dict[str, Any]], **result: object
    ) -> bool:
        """CALLED -> PAID: what the provider returned is recorded before anything is downloaded."""
        return bool(
            self._held(job_id, lease, stage=JobStage.CALLED).update(
                stage=JobStage.PAID, result_refs=refs, **result
            )
        )

    # -- endings -------------------------------------------------------------------------------

    def succeed(self, job_id: int, *, lease: str, now: dt.datetime) -> bool:
        """PAID -> SUCCEEDED, once every image is stored."""
        return bool(
            self._held(job_id, lease, stage=JobStage.PAID).update(
                state=JobState.SUCCEEDED,
                lease="",
                heartbeat_at=None,
                finished_at=now,
                error="",
                result_refs=[],
            )
        )

    def fail(
        self,
        job_id: int,
        *,
        lease: str,
        now: dt.datetime,
        error: str,
        cost: Decimal | None = None,
        currency: str = "",
    ) -> bool:
        """RUNNING -> FAILED. The stage stays: a failed PAID job keeps its result to store. A
        `cost` is what the provider took although it delivered nothing."""
        charged = {"cost": cost, "currency": currency} if cost is not None else {}
        return bool(
            self._held(job_id, lease).update(
                state=JobState.FAILED,
                lease="",
                heartbeat_at=None,
                finished_at=now,
                error=error,
                **charged,
            )
        )

    def cancel(self, job_id: int, *, now: dt.datetime) -> bool:
        """QUEUED -> CANCELLED, only while nothing was sent to the provider."""
        return bool(
            self.filter(pk=job_id, state=JobState.QUEUED, stage=JobStage.NOT_CALLED).update(
                state=JobState.CANCELLED,
                finished_at=now,
                error=gettext_noop("Cancelled before it started."),
            )
        )

    def resume(self, job_id: int, *, now: dt.datetime, max_attempts: int) -> bool:
        """FAILED (PAID) -> QUEUED: storing a result that was paid for is tried again, the
        provider is not called again."""
        return bool(
            self.filter(pk=job_id, state=JobState.FAILED, stage=JobStage.PAID).update(
                state=JobState.QUEUED,
                finished_at=None,
                next_attempt_at=None,
                dispatched_at=now,
                max_attempts=F("attempts") + max_attempts,
                error=gettext_noop("Storing the images that were already paid for again…"),
            )
        )

    # -- the outbox ----------------------------------------------------------------------------

    def due(self, *, now: dt.datetime, resend_before: dt.datetime) -> JobQuerySet:
        """QUEUED jobs that should be running by now, and whose last message (if any) has had
        time to arrive: its message was never sent, was lost, or died with a worker."""
        return self.filter(
            Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
            Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=resend_before),
            state=JobState.QUEUED,
        )

    def mark_dispatched(self, job_id: int, *, at: dt.datetime, resend_before: dt.datetime) -> bool:
        """Record that a message for the job is on its way (due at `at`), unless another
        dispatcher just did."""
        return bool(
            self.filter(
                Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=resend_before),
                pk=job_id,
                state=JobState.QUEUED,
            ).update(dispatched_at=at)
        )


class Job(models.Model):
    # Set by the selectors that list the queue (not a column): 1 = next to run.
    queue_position: int | None = None

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="jobs")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    kind = models.CharField(max_length=20, choices=JobKind.choices, default=JobKind.TEXT2IMAGE)
    prompt = models.TextField()
    model_id = models.CharField(max_length=200)
    # Everything else the provider gets: n, aspect_ratio, size, output_format, seed, …
    params = models.JSONField(default=dict)
    parent_image = models.ForeignKey(
        "gallery.Image", null=True, blank=True, on_delete=models.SET_NULL, related_name="edit_jobs"
    )
    retry_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # One of the models of a comparison (the comparison page shows its jobs side by side).
    comparison = models.ForeignKey(
        "gallery.Comparison", null=True, blank=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    # A double click or a browser resubmit carries the same key and finds this job.
    idempotency_key = models.CharField(max_length=64)

    state = models.CharField(
        max_length=12, choices=JobState.choices, default=JobState.QUEUED, db_index=True
    )
    stage = models.CharField(max_length=12, choices=JobStage.choices, default=JobStage.NOT_CALLED)
    # Tries at getting a result (calls, downloads); reconciling an earlier call is not one.
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=5)
    # The worker holding a RUNNING job: a token of its claim, renewed by its heartbeat.
    lease = models.CharField(max_length=32, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # When the paid request left (stage CALLED): the history is searched from here.
    called_at = models.DateTimeField(null=True, blank=True)
    # If the answer is lost: by when the history surely shows whether the call ran, and why
    # the answer was lost (kept for the message if it never ran).
    history_conclusive_at = models.DateTimeField(null=True, blank=True)
    unanswered_reason = models.TextField(blank=True)
    # A provider without a history (NanoGPT): its balance just before the call, to tell from
    # the balance afterwards whether a call whose answer was lost was charged.
    balance_before = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True)
    # What the provider returned (image ids, URLs, inline bytes), recorded before any download
    # and kept until every image is stored, so storing is retried without paying again.
    result_refs = models.JSONField(default=list, blank=True)
    # The outbox: when a QUEUED job is due, and when its message was sent (or is due to arrive).
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    batch_id = models.CharField(max_length=200, blank=True)
    provider_image_ids = models.JSONField(default=list)
    cost = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    currency = models.CharField(max_length=12, blank=True)
    # What the provider answered besides the images: how many it delivered (fewer than asked
    # when the quota ran out mid-batch) and its warning ("daily quota reached").
    delivered = models.PositiveSmallIntegerField(null=True, blank=True)
    warning = models.TextField(blank=True)
    error = models.TextField(blank=True)

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            # Per author: a key reused by another member (a copied link, a shared form) must
            # never hand them someone else's job.
            models.UniqueConstraint(
                fields=("workspace", "author", "idempotency_key"),
                name="one_job_per_author_idempotency_key",
            )
        ]
        indexes = [
            models.Index(fields=("workspace", "state", "created_at"), name="job_ws_state_created"),
            # The outbox and the reaper look for these every few seconds; the set stays small.
            models.Index(
                fields=("state", "next_attempt_at"),
                condition=Q(state__in=ACTIVE_STATES),
                name="job_active",
            ),
        ]

    def __str__(self) -> str:
        return f"Job {self.pk} ({self.state})"

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def can_cancel(self) -> bool:
        """Only while nothing was sent to the provider (the same rule as `cancel`)."""
        return self.state == JobState.QUEUED and self.stage == JobStage.NOT_CALLED

    def cancel_permitted_to(self, membership: Membership) -> bool:
        """Who may cancel: its author while they may still write, or an admin."""
        return membership.is_admin or (
            self.author_id == membership.user_id and membership.can_write
        )

    def can_be_cancelled_by(self, membership: Membership) -> bool:
        """Whether `membership` sees a Cancel button that works: the job card asks this, the
        view refuses whoever `cancel_permitted_to` refuses, and `cancel` checks the state."""
        return self.can_cancel and self.cancel_permitted_to(membership)

    @property
    def can_retry(self) -> bool:
        return self.state in (JobState.FAILED, JobState.CANCELLED)

    @property
    def retry_resumes(self) -> bool:
        """Retrying stores the result already paid for instead of starting a new job."""
        return self.state == JobState.FAILED and self.stage == JobStage.PAID

    @property
    def n_images(self) -> int:
        return int(self.params.get("n", 1))

    @property
    def cost_text(self) -> str:
        """What the provider took (`gallery.costs.spent_text`); "" when it reported nothing."""
        return "" if self.cost is None else spent_text(self.cost, self.currency)

    @property
    def delivery_note(self) -> str:
        """Fewer images than asked, or a warning from the provider (shown in amber)."""
        short = self.delivered is not None and self.delivered < self.n_images
        if not short:
            return self.warning
        note = ngettext(
            "%(delivered)s of %(count)s image delivered",
            "%(delivered)s of %(count)s images delivered",
            self.n_images,
        ) % {"delivered": self.delivered, "count": self.n_images}
        return f"{note}: {self.warning}" if self.warning else note

    @property
    def deleted_note(self) -> str:
        """What the card says when images this job made were deleted since ("deleted",
        "1 deleted"), so a finished card without thumbnails says why. Needs `deleted_images`
        and `visible_images` (the selectors' job lists and job card)."""
        deleted = getattr(self, "deleted_images", 0)
        if not deleted:
            return ""
        if getattr(self, "visible_images", None):
            return _("%(count)s deleted") % {"count": deleted}
        return _("deleted")

    @property
    def status_note(self) -> str:
        """The line under the job's card: why it waits or failed, or what it is doing now."""
        if self.error or self.state != JobState.RUNNING:
            return stored_text(self.error)  # stored in English, shown in the reader's language
        return {
            JobStage.NOT_CALLED: _("Sending the request to the provider…"),
            JobStage.CALLED: _("Waiting for the provider…"),
            JobStage.PAID: _("Downloading and storing the images…"),
        }[JobStage(self.stage)]
