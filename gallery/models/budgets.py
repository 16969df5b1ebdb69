"""Budgets: what a member (and the workspace as a whole) may spend a month, and the ledger.

The ledger is append-only: the amount used this month is the sum of its entries, never a
stored counter that could drift. Amounts are in the provider's unit: images for a quota counted
in images (neuroflash), money for a balance (NanoGPT); the unit is written on every entry.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy

from accounts.models import Workspace
from accounts.text import IMAGES as IMAGES
from accounts.text import amount_text as amount_text


class WorkspaceBudget(models.Model):
    """The workspace cap and the budget a member gets until an admin sets their own.

    Its row is also the lock every submit in the workspace takes to reserve (see
    `gallery/services/budgets.py`): the cap spans all members, so one row must serialise them."""

    workspace = models.OneToOneField(
        Workspace, on_delete=models.CASCADE, primary_key=True, related_name="budget"
    )
    # None with unlimited=False is not allowed: "unlimited" is a choice, not a missing value.
    cap = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True)
    cap_unlimited = models.BooleanField(default=True)
    member_default = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True)
    member_default_unlimited = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(cap_unlimited=True) | Q(cap__isnull=False),
                name="workspace_cap_set_or_unlimited",
            ),
            models.CheckConstraint(
                condition=Q(member_default_unlimited=True) | Q(member_default__isnull=False),
                name="member_default_set_or_unlimited",
            ),
        ]

    def __str__(self) -> str:
        return f"Budget of {self.workspace}"

    @property
    def cap_limit(self) -> Decimal | None:
        """The cap, None when unlimited."""
        return None if self.cap_unlimited else self.cap


class MemberBudget(models.Model):
    """A member's own monthly budget; without a row the workspace default applies."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="member_budgets"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="budgets"
    )
    limit = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True)
    unlimited = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=("workspace", "user"), name="one_budget_per_member"),
            models.CheckConstraint(
                condition=Q(unlimited=True) | Q(limit__isnull=False),
                name="member_budget_set_or_unlimited",
            ),
        ]

    def __str__(self) -> str:
        return f"Budget of {self.user} in {self.workspace}"


def this_month() -> dt.date:
    """The month an entry counts in, as its first day (local time)."""
    return timezone.localdate().replace(day=1)


class LedgerKind(models.TextChoices):
    RESERVE = "reserve", gettext_lazy("Reserved")  # + the estimate, at submit
    SETTLE = "settle", gettext_lazy("Settled")  # + the actual cost, when the job ends
    RELEASE = "release", gettext_lazy("Released")  # - the whole reservation, when the job ends
    ADJUST = "adjust", gettext_lazy("Adjusted")  # ± by hand, with a reason (`note`)
    # - an approved request for more: room for the member this month. Not spending, so the
    # workspace cap leaves it out (`budget_used` without a user); an ADJUST would have raised
    # the cap by the same amount, letting one approval take the workspace over its cap.
    GRANT = "grant", gettext_lazy("Granted")


class LedgerEntry(models.Model):
    """One append-only line. For a job: reserve +estimate at submit; at its end release
    -estimate and settle +actual (nothing for a job that was never paid), so the job's entries
    sum to what it really cost, whether that is less or more than the estimate."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="ledger")
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    job = models.ForeignKey(
        "gallery.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="ledger"
    )
    kind = models.CharField(max_length=10, choices=LedgerKind.choices)
    amount = models.DecimalField(max_digits=14, decimal_places=6)
    unit = models.CharField(max_length=12)  # "images", or a currency ("USD")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The month the amount counts in (its first day): a job's settle and release count in the
    # month it was reserved, so a job submitted on the 31st and ended on the 1st leaves both
    # months right instead of one over and one under.
    period = models.DateField(default=this_month)
    note = models.CharField(max_length=300, blank=True)  # why, for an adjust or a grant

    class Meta:
        ordering = ("created_at", "id")
        constraints = [
            # A job is reserved, settled and released once each, whatever retries, resumed
            # storing or a worker adopting the job do: the database refuses a second entry.
            models.UniqueConstraint(
                fields=("job", "kind"),
                condition=Q(job__isnull=False) & ~Q(kind="adjust"),
                name="one_ledger_entry_per_job_and_kind",
            )
        ]
        indexes = [
            models.Index(fields=("workspace", "period", "member"), name="ledger_ws_period_member"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.unit}"


class RequestState(models.TextChoices):
    PENDING = "pending", gettext_lazy("Pending")
    APPROVED = "approved", gettext_lazy("Approved")
    DECLINED = "declined", gettext_lazy("Declined")


class BudgetRequest(models.Model):
    """A member asking an admin for more of this month's budget. An approval appends a GRANT
    entry to the ledger; the request itself never changes what was used."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="budget_requests"
    )
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="budget_requests"
    )
    amount = models.DecimalField(max_digits=14, decimal_places=6)
    unit = models.CharField(max_length=12)
    note = models.CharField(max_length=500, blank=True)
    state = models.CharField(
        max_length=10, choices=RequestState.choices, default=RequestState.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("created_at", "id")
        constraints = [
            models.UniqueConstraint(
                fields=("workspace", "member"),
                condition=Q(state="pending"),
                name="one_pending_budget_request_per_member",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="budget_request_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.member} asks for {self.amount} {self.unit}"

    @property
    def amount_text(self) -> str:
        return amount_text(self.amount, self.unit)
