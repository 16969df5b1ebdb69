"""The provider's quota in full, for the usage page: every figure the latest snapshot holds,
labelled as the provider means it (see /work/shared/provider-spec.md §1.3 for neuroflash's
fields; NanoGPT reports a prepaid balance instead of a quota)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from accounts.templatetags.time_tags import duration
from gallery.costs import money
from gallery.models import QuotaSnapshot
from gallery.services.budgets import IMAGES, amount_text

NOT_REPORTED = gettext_lazy("not reported")


@dataclass(frozen=True)
class QuotaFact:
    label: str
    value: str
    note: str = ""
    percent: int | None = None  # a bar's fill, 0 to 100, for a used-of-limit figure
    level: str = "ok"  # "ok", "warning" or "exhausted", as the header meter reads


def _images(n: int) -> str:
    return amount_text(Decimal(n), IMAGES)


def _used_of(used: int | None, limit: int | None, *, left: bool) -> tuple[str, int | None]:
    if used is None and limit is None:
        return str(NOT_REPORTED), None
    if limit is None:
        return gettext("%(used)s used · no limit reported") % {"used": _images(used or 0)}, None
    used = used or 0
    percent = min(round(used * 100 / limit), 100) if limit else 100
    figures = {"used": used, "limit": _images(limit), "left": max(limit - used, 0)}
    if left:
        return gettext("%(used)s of %(limit)s used · %(left)s left") % figures, percent
    return gettext("%(used)s of %(limit)s used") % figures, percent


def _level(percent: int | None) -> str:
    if percent is None:
        return "ok"
    if percent >= 100:
        return "exhausted"
    return "warning" if percent >= 80 else "ok"


def next_daily_reset(now: dt.datetime) -> dt.datetime:
    """neuroflash's daily limit resets at midnight UTC."""
    today = now.astimezone(dt.UTC).date()
    return dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)


def quota_facts(snapshot: QuotaSnapshot, *, now: dt.datetime | None = None) -> list[QuotaFact]:
    """Each figure of the report as a labelled line; a field the provider left out says so."""
    now = now or timezone.now()
    if snapshot.kind == "balance":
        balance = (
            money(snapshot.balance, snapshot.currency or "USD")
            if snapshot.balance is not None
            else str(NOT_REPORTED)
        )
        return [
            QuotaFact(
                gettext("Balance"),
                balance,
                gettext(
                    "A prepaid balance, not a quota: each image is paid from it, and nothing "
                    "resets."
                ),
            )
        ]
    # What is left this month is the provider's own figure (bonus and spillover counted), on a
    # line of its own: limit minus used would disagree with it.
    monthly, monthly_percent = _used_of(snapshot.monthly_used, snapshot.monthly_limit, left=False)
    daily, daily_percent = _used_of(snapshot.daily_used, snapshot.daily_limit, left=True)
    available = snapshot.monthly_available
    reset = next_daily_reset(now)
    fair_use = {
        None: (str(NOT_REPORTED), ""),
        False: (gettext("Not reached"), ""),
        True: (
            gettext("Reached"),
            gettext("The provider may slow generation down until the period renews."),
        ),
    }[snapshot.fair_use_reached]
    return [
        QuotaFact(
            gettext("This month"),
            monthly,
            gettext("The billing cycle's limit."),
            monthly_percent,
            _level(monthly_percent),
        ),
        QuotaFact(
            gettext("Left this month"),
            str(NOT_REPORTED) if available is None else _images(available),
            gettext("What can still be made this cycle, bonus and carried-over images included."),
            level="exhausted" if available == 0 else "ok",
        ),
        QuotaFact(gettext("Today"), daily, "", daily_percent, _level(daily_percent)),
        QuotaFact(
            gettext("Bonus"),
            str(NOT_REPORTED) if snapshot.bonus is None else _images(snapshot.bonus),
            gettext("Images granted on top of the plan."),
        ),
        QuotaFact(
            gettext("Carried over"),
            str(NOT_REPORTED) if snapshot.spillover is None else _images(snapshot.spillover),
            gettext("Unused images carried over from the last billing cycle."),
        ),
        QuotaFact(
            gettext("Fair use"),
            fair_use[0],
            fair_use[1],
            level="warning" if snapshot.fair_use_reached else "ok",
        ),
        QuotaFact(
            gettext("Resets"),
            gettext("Today's limit at midnight UTC, in %(time)s") % {"time": duration(now, reset)},
            gettext(
                "The monthly limit renews with the billing cycle; the provider does not report "
                "its date."
            ),
        ),
    ]
