"""What the budgets page and the usage page show of budgets: each member's row (limit, use,
grants, this month's changes) and the bars of use against limits. Read-only; reserving,
settling and setting budgets are in gallery/services/budgets.py."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Q, QuerySet, Sum
from django.utils.translation import gettext as _

from accounts.models import Membership, Role, User, Workspace
from gallery.models import LedgerEntry, LedgerKind, MemberBudget, WorkspaceBudget
from gallery.models.budgets import IMAGES, amount_text, this_month
from gallery.services.budgets import budget_used, member_limit

# --- Reading (the budgets page) ---------------------------------------------------------------


def change_text(entry: LedgerEntry) -> str:
    """An adjustment or grant as the budgets page lists it: "Adjusted +5 images: a retried
    batch", "Granted 4 images more: request 7 approved"."""
    if entry.kind == LedgerKind.GRANT:
        text = _("Granted %(amount)s more") % {"amount": amount_text(-entry.amount, entry.unit)}
    else:
        sign = "-" if entry.amount < 0 else "+"
        text = _("Adjusted %(amount)s") % {
            "amount": f"{sign}{amount_text(abs(entry.amount), entry.unit)}"
        }
    return _("%(change)s: %(note)s") % {"change": text, "note": entry.note} if entry.note else text


def budget_row_for(*, workspace: Workspace, user: User, unit: str) -> BudgetRow:
    """One member's budget and what they used this month (the "Ask for more" page)."""
    workspace_budget = WorkspaceBudget.objects.filter(workspace=workspace).first()
    if workspace_budget is None:
        workspace_budget = WorkspaceBudget(workspace=workspace)
    mine = _month_entries(workspace=workspace, unit=unit).filter(member=user)
    totals = mine.aggregate(used=_USED, granted=_GRANTED)
    return BudgetRow(
        membership_id=0,
        user=user,
        limit=member_limit(workspace_budget=workspace_budget, user=user),
        own=MemberBudget.objects.filter(workspace=workspace, user=user).exists(),
        used=totals["used"] or Decimal(0),
        unit=unit,
        granted=-(totals["granted"] or Decimal(0)),
    )


def _month_entries(*, workspace: Workspace, unit: str) -> QuerySet[LedgerEntry]:
    return LedgerEntry.objects.filter(workspace=workspace, unit=unit, period=this_month())


# What a member used this month (every entry but grants) and was granted (grant entries are
# negative), summed in one query. Reserving counts both (`budget_used`); people read them apart.
_USED = Sum("amount", filter=~Q(kind=LedgerKind.GRANT))
_GRANTED = Sum("amount", filter=Q(kind=LedgerKind.GRANT))


def granted_note(limit: Decimal, granted: Decimal, unit: str) -> str:
    """ "(3 + 2 granted)": a member's budget and this month's grants, "" without grants."""
    if not granted:
        return ""
    budget, granted_text = (amount_text(n, unit, noun=False) for n in (limit, granted))
    return _("(%(budget)s + %(granted)s granted)") % {"budget": budget, "granted": granted_text}


@dataclass(frozen=True)
class BudgetRow:
    membership_id: int
    user: User
    limit: Decimal | None  # None: unlimited
    own: bool  # set for this member, not the workspace default
    used: Decimal  # every entry of the month but grants
    unit: str
    # This month's adjustments and grants, oldest first (shown under the member's name).
    changes: tuple[str, ...] = ()
    granted: Decimal = Decimal(0)  # this month's approved requests for more (positive)

    @property
    def room(self) -> Decimal | None:
        """This month's room: the budget and what was granted on top (None: unlimited)."""
        return None if self.limit is None else self.limit + self.granted

    @property
    def used_text(self) -> str:
        """What the member used against this month's room: Used 4 of 50 images this month,
        Used 4 of 5 images this month (3 + 2 granted)."""
        if self.limit is None:
            return _("Used %(used)s this month · unlimited") % {
                "used": amount_text(self.used, self.unit)
            }
        noun = self.unit != IMAGES
        text = _("Used %(used)s of %(limit)s this month") % {
            "used": amount_text(self.used, self.unit, noun=noun),
            "limit": amount_text(self.limit + self.granted, self.unit),
        }
        note = granted_note(self.limit, self.granted, self.unit)
        return f"{text} {note}" if note else text


def budget_rows(*, workspace: Workspace, unit: str) -> list[BudgetRow]:
    """Every member's budget (viewers have none), what the ledger says they used and were
    granted this month, and the month's adjustments (five queries, however many members)."""

    workspace_budget = WorkspaceBudget.objects.filter(workspace=workspace).first()
    default = None
    if workspace_budget is not None and not workspace_budget.member_default_unlimited:
        default = workspace_budget.member_default
    own = {b.user_id: b for b in MemberBudget.objects.filter(workspace=workspace)}
    totals = {
        member: (used, granted)
        for member, used, granted in _month_entries(workspace=workspace, unit=unit)
        .values_list("member")
        .annotate(used=_USED, granted=_GRANTED)
        .values_list("member", "used", "granted")
    }
    changes: dict[int | None, list[LedgerEntry]] = {}
    for entry in LedgerEntry.objects.filter(
        workspace=workspace,
        unit=unit,
        period=this_month(),
        kind__in=(LedgerKind.ADJUST, LedgerKind.GRANT),
    ):
        changes.setdefault(entry.member_id, []).append(entry)
    rows = []
    # Viewers do not generate, so they have no budget.
    members = Membership.objects.filter(workspace=workspace).exclude(role=Role.VIEWER)
    for membership in members.select_related("user"):
        budget = own.get(membership.user_id)
        limit = default if budget is None else (None if budget.unlimited else budget.limit)
        used, granted = totals.get(membership.user_id, (None, None))
        rows.append(
            BudgetRow(
                membership_id=membership.pk,
                user=membership.user,
                limit=limit,
                own=budget is not None,
                used=used or Decimal(0),
                unit=unit,
                changes=tuple(change_text(e) for e in changes.get(membership.user_id, ())),
                granted=-(granted or Decimal(0)),
            )
        )
    return sorted(rows, key=lambda row: row.user.email)


# --- Reading (the usage page: budget bars) ----------------------------------------------------
# Kept apart from the budgets page's readers above: the usage page only adds to them.


def budget_in_flight(*, workspace: Workspace, unit: str) -> dict[int | None, Decimal]:
    """This month's reservations of jobs not yet settled, per member (one query): the part of
    what `budget_rows` counts as used that a running job may still give back."""
    released = LedgerEntry.objects.filter(workspace=workspace, kind=LedgerKind.RELEASE).values(
        "job_id"
    )
    return dict(
        LedgerEntry.objects.filter(
            workspace=workspace,
            unit=unit,
            period=this_month(),
            kind=LedgerKind.RESERVE,
            job__isnull=False,
        )
        .exclude(job_id__in=released)
        .values_list("member")
        .annotate(total=Sum("amount"))
        .values_list("member", "total")
    )


@dataclass(frozen=True)
class BudgetBar:
    """A bar of this month's use against a limit: settled (or adjusted) use, then what jobs
    still running have reserved. Widths are whole percentages for the `meter-fill-N` classes
    (the CSP allows no inline style)."""

    label: str
    used: Decimal  # everything the ledger counts, in-flight reservations included
    reserved: Decimal  # of `used`, reserved by jobs still running
    limit: Decimal | None  # None: unlimited; a member's includes this month's grants
    unit: str
    granted: Decimal = Decimal(0)  # of `limit`, granted this month on a member's request

    @property
    def settled(self) -> Decimal:
        return self.used - self.reserved

    @property
    def settled_percent(self) -> int:
        return _percent(self.settled, self.limit)

    @property
    def reserved_percent(self) -> int:
        return min(_percent(self.reserved, self.limit), 100 - self.settled_percent)

    @property
    def over(self) -> bool:
        return self.limit is not None and self.used >= self.limit

    @property
    def text(self) -> str:
        """4 of 50 images used · 46 left; 4 of 5 images used (3 + 2 granted) · 1 left;
        4 images used · unlimited."""
        if self.limit is None:
            return _("%(used)s used · unlimited") % {"used": amount_text(self.used, self.unit)}
        left = max(self.limit - self.used, Decimal(0))
        noun = self.unit != IMAGES
        text = _("%(used)s of %(limit)s used") % {
            "used": amount_text(self.used, self.unit, noun=noun),
            "limit": amount_text(self.limit, self.unit),
        }
        note = granted_note(self.limit - self.granted, self.granted, self.unit)
        if note:
            text += f" {note}"
        return _("%(used)s · %(left)s left") % {
            "used": text,
            "left": amount_text(left, self.unit, noun=noun),
        }

    @property
    def reserved_text(self) -> str:
        """ "3 images reserved by jobs still running", or "" when none are."""
        if not self.reserved:
            return ""
        return _("%(amount)s reserved by jobs still running") % {
            "amount": amount_text(self.reserved, self.unit)
        }


def _percent(amount: Decimal, limit: Decimal | None) -> int:
    if limit is None or amount <= 0:
        return 0
    if limit <= 0:
        return 100
    return min(int(amount * 100 / limit), 100)


@dataclass(frozen=True)
class BudgetBars:
    cap: BudgetBar
    members: list[BudgetBar]


def budget_bars(*, workspace: Workspace, unit: str, only: User | None = None) -> BudgetBars:
    """The workspace cap's bar and each member's (only `only`'s when given): seven queries,
    however many members and ledger entries."""
    rows = budget_rows(workspace=workspace, unit=unit)
    in_flight = budget_in_flight(workspace=workspace, unit=unit)
    workspace_budget = WorkspaceBudget.objects.filter(workspace=workspace).first()
    cap = BudgetBar(
        label=_("Workspace cap"),
        used=budget_used(workspace=workspace, unit=unit),
        reserved=sum(in_flight.values(), Decimal(0)),
        limit=workspace_budget.cap_limit if workspace_budget is not None else None,
        unit=unit,
    )
    members = [
        BudgetBar(
            label=row.user.display_name or row.user.email,
            used=row.used,
            reserved=in_flight.get(row.user.pk) or Decimal(0),
            limit=row.room,
            unit=unit,
            granted=row.granted,
        )
        for row in rows
        if only is None or row.user.pk == only.pk
    ]
    return BudgetBars(cap=cap, members=members)
