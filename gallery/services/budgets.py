"""Reserving a job's cost against budgets at submit, and settling it when the job ends.

Race-free reserving: the check ("is there room?") and the write (the reserve entry) must not
interleave between two submits, or two could both see room for the last images. Every
reservation in a workspace first locks that workspace's `WorkspaceBudget` row:

- PostgreSQL: `SELECT … FOR UPDATE` on that row; a second submit waits there until the first
  commits, then sums the ledger again and sees its reservation.
- SQLite has no row locks, but Darkroom opens every transaction with `BEGIN IMMEDIATE`
  (`transaction_mode` in config/settings.py): the write lock is taken when `atomic()` starts,
  before the sums are read, so a second submit waits (up to the busy timeout) until the first
  commits. A plain deferred `BEGIN` would not do: both would read, then one would fail to
  upgrade its lock ("database is locked") instead of seeing the other's entry.

One lock per workspace, not per member, because the workspace cap spans all its members. It
is taken on every submit, budgets set or not (the ledger counts for everyone); it is held only
for the few statements up to the commit of the job's row.
`tests/gallery/test_budgets.py::test_concurrent_submits_never_reserve_more_than_the_budget`
holds us to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q, Sum
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import AuditVerb, Membership, NotificationKind, Role, User, Workspace
from accounts.notifications import notification_send
from accounts.services import audit_record
from gallery.costs import BudgetLeft, CostEstimate
from gallery.models import Job, JobStage, LedgerEntry, LedgerKind, MemberBudget, WorkspaceBudget
from gallery.models.budgets import IMAGES, amount_text, this_month

NEAR = Decimal("0.8")  # the first notification, at 80 % of a budget or of the cap


class BudgetRefused(Exception):
    """The request would take a member or the workspace over its monthly budget. `lacking`:
    how much more the member's own budget would need (None when it is not theirs that is
    short), what "Ask for more" is prefilled with."""

    def __init__(self, message: str, *, lacking: Decimal | None = None) -> None:
        super().__init__(message)
        self.lacking = lacking


@dataclass(frozen=True)
class Reservation:
    amount: Decimal
    unit: str


def reservation_for(estimate: CostEstimate) -> Reservation | None:
    """What to reserve for a request, in the provider's unit; None when the price is unknown."""
    if estimate.quota_kind == "credits":
        return Reservation(Decimal(estimate.images), IMAGES)
    if estimate.amount is None:
        return None
    return Reservation(estimate.amount, estimate.currency or "USD")


def budget_unit(workspace: Workspace) -> str:
    """What budgets count in for the workspace's provider: images of a quota, else USD."""
    credential = getattr(workspace, "credential", None)
    quota_kind = credential.capabilities.quota_kind if credential is not None else None
    return IMAGES if quota_kind == "credits" else "USD"


def budget_used(*, workspace: Workspace, unit: str, user: User | None = None) -> Decimal:
    """What the ledger says was used this month (by `user`, or by everyone against the cap:
    grants raise one member's month, not the workspace cap)."""
    entries = LedgerEntry.objects.filter(workspace=workspace, unit=unit, period=this_month())
    if user is not None:
        entries = entries.filter(member=user)
    else:
        entries = entries.exclude(kind=LedgerKind.GRANT)
    return entries.aggregate(total=Sum("amount"))["total"] or Decimal(0)


def budget_used_by_member_and_workspace(
    *, workspace: Workspace, unit: str, user: User
) -> tuple[Decimal, Decimal]:
    """`budget_used` for `user` and for the workspace's cap at once: one query (every submit
    under a budget reads both)."""
    totals = LedgerEntry.objects.filter(
        workspace=workspace, unit=unit, period=this_month()
    ).aggregate(
        member=Sum("amount", filter=Q(member=user)),
        workspace=Sum("amount", filter=~Q(kind=LedgerKind.GRANT)),
    )
    return totals["member"] or Decimal(0), totals["workspace"] or Decimal(0)


def member_limit(*, workspace_budget: WorkspaceBudget, user: User) -> Decimal | None:
    """A member's monthly budget (their own, else the workspace default); None = unlimited."""
    own = MemberBudget.objects.filter(workspace_id=workspace_budget.pk, user=user).first()
    if own is not None:
        return None if own.unlimited else own.limit
    if workspace_budget.member_default_unlimited:
        return None
    return workspace_budget.member_default


def budget_left(*, workspace: Workspace, user: User) -> BudgetLeft | None:
    """What the member may still spend this month: the tighter of their own budget and the
    workspace cap (None when both are unlimited). For the cost preview; a submit checks again
    under the lock."""
    # No row yet: the defaults (unlimited), though a member may have a budget of their own.
    budget = WorkspaceBudget.objects.filter(workspace=workspace).first()
    budget = budget or WorkspaceBudget(workspace=workspace)
    unit = budget_unit(workspace)
    limit, cap = member_limit(workspace_budget=budget, user=user), budget.cap_limit
    if limit is None and cap is None:
        return None
    member_used, workspace_used = budget_used_by_member_and_workspace(
        workspace=workspace, unit=unit, user=user
    )
    found = []
    if limit is not None:
        found.append(BudgetLeft(max(limit - member_used, Decimal(0)), limit, unit, mine=True))
    if cap is not None:
        found.append(BudgetLeft(max(cap - workspace_used, Decimal(0)), cap, unit, mine=False))
    return min(found, key=lambda b: b.left)


def budget_reserve(*, job: Job, user: User, estimate: CostEstimate) -> None:
    """Refuse the job if it does not fit the member's budget or the workspace cap, else
    append its reserve entry. Call inside the transaction that creates the job, so a refusal
    rolls the job back too. Raises BudgetRefused."""
    workspace = job.workspace
    # The lock (see the module docstring); on SQLite the write lock is already held. A
    # workspace's first submit makes the row to lock.
    locked = WorkspaceBudget.objects.select_for_update()
    budget = locked.filter(pk=workspace.pk).first()
    if budget is None:
        WorkspaceBudget.objects.get_or_create(workspace=workspace)
        budget = locked.get(pk=workspace.pk)
    limit = member_limit(workspace_budget=budget, user=user)
    cap = budget.cap_limit
    reservation = reservation_for(estimate)
    if reservation is None:
        if limit is not None or cap is not None:
            raise BudgetRefused(
                _(
                    "The price of this request is unknown, so it cannot be checked against "
                    "the budget. Choose a model with a listed price, or ask an admin."
                )
            )
        return
    amount, unit = reservation.amount, reservation.unit
    member_used = cap_used = None
    if limit is not None or cap is not None:
        member_used, cap_used = budget_used_by_member_and_workspace(
            workspace=workspace, unit=unit, user=user
        )
    if limit is not None:
        assert member_used is not None
        left = max(limit - member_used, Decimal(0))
        if amount > left:
            raise BudgetRefused(
                _("This costs %(value)s; you have %(value2)s of your %(value3)s left this month.")
                % {
                    "value": amount_text(amount, unit),
                    "value2": amount_text(left, unit, noun=False),
                    "value3": amount_text(limit, unit, noun=False),
                },
                lacking=amount - left,
            )
    if cap is not None:
        assert cap_used is not None
        left = max(cap - cap_used, Decimal(0))
        if amount > left:
            raise BudgetRefused(
                _(
                    "This costs %(value)s; the workspace has %(value2)s of its %(value3)s cap "
                    "left this month."
                )
                % {
                    "value": amount_text(amount, unit),
                    "value2": amount_text(left, unit, noun=False),
                    "value3": amount_text(cap, unit, noun=False),
                }
            )
    # Crossing 80 % or 100 % is told after the commit, outside the lock (and only then is a
    # query spent on it).
    if limit and member_used is not None and member_used + amount >= limit * NEAR:
        used_now = member_used + amount
        transaction.on_commit(
            lambda: notify_member_threshold(
                workspace=workspace, user=user, used=used_now, limit=limit, unit=unit
            )
        )
    if cap and cap_used is not None and cap_used + amount >= cap * NEAR:
        cap_now = cap_used + amount
        transaction.on_commit(
            lambda: notify_cap_threshold(workspace=workspace, used=cap_now, cap=cap, unit=unit)
        )
    LedgerEntry.objects.create(
        workspace=workspace,
        member=user,
        job=job,
        kind=LedgerKind.RESERVE,
        amount=amount,
        unit=unit,
        created_by=user,
    )


def actual_cost(job: Job, reserved: LedgerEntry) -> Decimal:
    """What the ended job really took, in the reservation's unit: nothing before the provider
    was paid; the whole reservation when nobody can tell whether it was (the budget's safe side;
    an admin adjusts once the provider's account shows otherwise); the delivered images of a
    quota; the reported cost of a balance (or, not reported, the reservation's share for the
    images delivered)."""
    if job.stage == JobStage.CALLED and job.cost is None:
        return reserved.amount  # outcome unknown: may have been charged
    if job.stage == JobStage.NOT_CALLED and job.cost is None:
        return Decimal(0)
    delivered = job.delivered or 0
    if reserved.unit == IMAGES:
        return Decimal(delivered)
    if job.cost is not None and job.currency in ("", reserved.unit):
        return job.cost
    return reserved.amount * delivered / max(job.n_images, 1)


def budget_settle(*, job_id: int) -> None:
    """Turn an ended job's reservation into its actual cost: release the reservation, settle
    the actual. Exactly once per job: the ledger's unique rule refuses a second settle or
    release (a retried, resumed or adopted job ending again), and that is fine."""
    job = Job.objects.get(pk=job_id)
    reserved = LedgerEntry.objects.filter(job=job, kind=LedgerKind.RESERVE).first()
    if reserved is None:
        return  # nothing was reserved (no price known, or submitted before budgets)
    actual = actual_cost(job, reserved)
    common = {
        "workspace_id": job.workspace_id,
        "member_id": reserved.member_id,
        "job": job,
        "unit": reserved.unit,
        "period": reserved.period,  # counts in the month it was reserved in
    }
    try:
        with transaction.atomic():
            LedgerEntry.objects.create(kind=LedgerKind.RELEASE, amount=-reserved.amount, **common)
            if actual:
                LedgerEntry.objects.create(kind=LedgerKind.SETTLE, amount=actual, **common)
    except IntegrityError:
        return  # settled already


# --- Notifications at 80 % and 100 % ----------------------------------------------------------


def _share(used: Decimal, limit: Decimal) -> dict[str, int]:
    return {"percent": min(int(used * 100 / limit), 100)}


def amount_param(amount: Decimal, unit: str, *, noun: bool = True) -> dict[str, Any]:
    """An amount as a notification's parameter (accounts.text.stored_message writes it)."""
    return {"amount": f"{amount.normalize():f}", "unit": unit, "noun": noun}


def notify_member_threshold(
    *, workspace: Workspace, user: User, used: Decimal, limit: Decimal, unit: str
) -> None:
    """Tell the member they reached 80 % or all of their month (each once a month)."""
    kind = NotificationKind.BUDGET_100 if used >= limit else NotificationKind.BUDGET_80
    if kind == NotificationKind.BUDGET_100:
        message = gettext_noop(
            "You have used all of your %(limit)s this month. You can ask an admin for more."
        )
    else:
        message = gettext_noop("You have used %(used)s of your %(limit)s this month (%(share)s).")
    notification_send(
        recipient=user,
        workspace=workspace,
        kind=kind,
        message=message,
        params={
            "used": amount_param(used, unit, noun=False),
            "limit": amount_param(limit, unit),
            "share": _share(used, limit),
        },
        url=reverse("gallery:budget_ask", args=[workspace.slug]),
        period=this_month(),
    )


def notify_cap_threshold(*, workspace: Workspace, used: Decimal, cap: Decimal, unit: str) -> None:
    """Tell the workspace's admins it reached 80 % or all of its cap (each once a month)."""
    full = used >= cap
    kind = NotificationKind.CAP_100 if full else NotificationKind.CAP_80
    if full:
        message = gettext_noop("The workspace has used all of its %(cap)s cap this month.")
    else:
        message = gettext_noop(
            "The workspace has used %(used)s of its %(cap)s cap this month (%(share)s)."
        )
    params = {
        "used": amount_param(used, unit, noun=False),
        "cap": amount_param(cap, unit),
        "share": _share(used, cap),
    }
    url = reverse("gallery:settings_budgets", args=[workspace.slug])
    for admin in admins_of(workspace):
        notification_send(
            recipient=admin,
            workspace=workspace,
            kind=kind,
            message=message,
            params=params,
            url=url,
            period=this_month(),
        )


def admins_of(workspace: Workspace) -> list[User]:
    return [
        m.user
        for m in Membership.objects.filter(workspace=workspace, role=Role.ADMIN).select_related(
            "user"
        )
    ]


# --- Settings (admins, on the budgets page) ---------------------------------------------------


def limit_text(limit: Decimal | None, unit: str) -> str:
    """For the audit log, which is stored in English whatever the admin reads."""
    with translation.override("en-gb"):
        return "unlimited" if limit is None else amount_text(limit, unit)


def budget_set_member(
    *, workspace: Workspace, user: User, limit: Decimal | None, unit: str, actor: User
) -> None:
    """Set `user`'s monthly budget (None: unlimited, an explicit choice)."""
    budget, _ = MemberBudget.objects.get_or_create(workspace=workspace, user=user)
    old = None if budget.unlimited else budget.limit
    if old == limit and (budget.unlimited or budget.limit is not None):
        return
    budget.limit, budget.unlimited = limit, limit is None
    budget.save(update_fields=["limit", "unlimited"])
    audit_record(
        workspace=workspace,
        actor=actor,
        verb=AuditVerb.BUDGET_CHANGED,
        target=user.email,
        detail=f"{limit_text(old, unit)} → {limit_text(limit, unit)} a month",
    )


def budget_set_workspace(
    *,
    workspace: Workspace,
    cap: Decimal | None,
    member_default: Decimal | None,
    unit: str,
    actor: User,
) -> None:
    """Set the workspace cap and the default for members without a budget of their own."""
    budget, _ = WorkspaceBudget.objects.get_or_create(workspace=workspace)
    old = (budget.cap_limit, None if budget.member_default_unlimited else budget.member_default)
    if old == (cap, member_default):
        return
    budget.cap, budget.cap_unlimited = cap, cap is None
    budget.member_default = member_default
    budget.member_default_unlimited = member_default is None
    budget.save()
    parts = [
        f"{name} {limit_text(before, unit)} → {limit_text(after, unit)}"
        for name, before, after in (("cap", old[0], cap), ("default", old[1], member_default))
        if before != after
    ]
    audit_record(
        workspace=workspace,
        actor=actor,
        verb=AuditVerb.BUDGET_WORKSPACE_CHANGED,
        detail="; ".join(parts),
    )
