"""Usage figures for the usage page: daily series, per member and per model, and a forecast.

Daily usage comes from what the provider reported (the highest `daily_used` of each day's quota
snapshots), so images made outside Darkroom count too; days without a snapshot fall back to the
images Darkroom's own jobs made that day.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Max, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from accounts.models import User, Workspace
from gallery.costs import money, spent_text
from gallery.models import Image, ImageSource, Job, QuotaSnapshot
from gallery.services.budgets import IMAGES, amount_text


@dataclass(frozen=True)
class Day:
    date: dt.date
    images: int
    reported: bool  # True: the provider's own count; False: Darkroom's jobs only


@dataclass(frozen=True)
class Forecast:
    per_day: float
    runs_out_on: dt.date | None  # None: the quota lasts the rest of the month

    @property
    def sentence(self) -> str:
        if self.per_day <= 0:
            return _("No images in the last 7 days: the monthly quota lasts the month.")
        if self.runs_out_on is None:
            return _("At the last 7 days' pace, the monthly quota lasts the month.")
        when = date_format(self.runs_out_on, "MONTH_DAY_FORMAT")
        return _("At the last 7 days' pace, the monthly quota runs out on %(date)s.") % {
            "date": when
        }


def daily_usage(*, workspace: Workspace, days: int = 30, today: dt.date | None = None) -> list[Day]:
    today = today or timezone.localdate()
    start = today - dt.timedelta(days=days - 1)
    reported = dict(
        QuotaSnapshot.objects.filter(
            workspace=workspace, taken_at__date__gte=start, daily_used__isnull=False
        )
        .annotate(day=TruncDate("taken_at"))
        .values_list("day")
        .annotate(most=Max("daily_used"))
        .values_list("day", "most")
    )
    made_here = dict(
        Image.objects.filter(
            workspace=workspace, source=ImageSource.JOB, created_at__date__gte=start
        )
        .annotate(day=TruncDate("created_at"))
        .values_list("day")
        .annotate(n=Count("pk"))
        .values_list("day", "n")
    )
    series = []
    for offset in range(days):
        day = start + dt.timedelta(days=offset)
        if day in reported:
            series.append(Day(day, int(reported[day]), True))
        else:
            series.append(Day(day, int(made_here.get(day, 0)), False))
    return series


def forecast(*, series: list[Day], monthly_left: int | None, today: dt.date) -> Forecast | None:
    """When the monthly quota runs out at the pace of the last 7 days (None without a quota)."""
    if monthly_left is None:
        return None
    last_week = series[-7:]
    per_day = sum(day.images for day in last_week) / max(len(last_week), 1)
    if per_day <= 0:
        return Forecast(0.0, None)
    days_left = monthly_left / per_day
    runs_out = today + dt.timedelta(days=int(days_left))
    month_end = today.replace(day=calendar.monthrange(today.year, today.month)[1])
    return Forecast(per_day, None if runs_out > month_end else runs_out)


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    day: Day


def chart_bars(series: list[Day], *, width: int = 600, height: int = 160) -> tuple[list[Bar], int]:
    """Bar geometry for the server-rendered SVG chart, and the scale's top value."""
    top = max([day.images for day in series] + [1])
    slot = width / max(len(series), 1)
    bars = []
    for i, day in enumerate(series):
        h = height * day.images / top
        bars.append(
            Bar(
                x=round(i * slot + 1, 2),
                y=round(height - h, 2),
                width=round(slot - 2, 2),
                height=round(h, 2),
                day=day,
            )
        )
    return bars, top


@dataclass(frozen=True)
class UsageRow:
    """One member's or model's month: images made in Darkroom, and what the provider reported
    taking for their jobs (one figure per currency; a workspace may have changed provider)."""

    label: str
    images: int
    spent: tuple[str, ...] = ()

    @property
    def cost(self) -> str:
        return " + ".join(self.spent)


def _spent(jobs: list[dict[str, Any]], key: str) -> dict[Any, list[str]]:
    totals: dict[Any, list[str]] = {}
    for row in jobs:
        amount = row["total"]
        assert isinstance(amount, Decimal)
        totals.setdefault(row[key], []).append(spent_text(amount, str(row["currency"])))
    return totals


def _job_costs(*, workspace: Workspace, since: dt.datetime, key: str) -> dict[Any, list[str]]:
    """The month's summed actual cost of the workspace's jobs by ``key``, per currency."""
    rows = (
        Job.objects.filter(workspace=workspace, created_at__gte=since, cost__isnull=False)
        .values(key, "currency")
        .annotate(total=Sum("cost"))
        .order_by(key, "currency")
    )
    return _spent(list(rows), key)


def usage_by_member(*, workspace: Workspace, since: dt.datetime) -> list[UsageRow]:
    images = {
        row["author"]: row
        for row in Image.objects.filter(
            workspace=workspace, source=ImageSource.JOB, created_at__gte=since
        )
        .values("author")
        .annotate(n=Count("pk"))
    }
    spent = _job_costs(workspace=workspace, since=since, key="author")
    authors = {user.pk: user for user in User.objects.filter(pk__in={*images, *spent} - {None})}
    rows = []
    for author_id in {*images, *spent}:
        user = authors.get(author_id)
        name = (user.display_name if user else "") or "a removed user"
        count = int(images[author_id]["n"]) if author_id in images else 0
        rows.append(UsageRow(name, count, tuple(spent.get(author_id, ()))))
    return sorted(rows, key=lambda row: (-row.images, row.label))


def usage_by_model(*, workspace: Workspace, since: dt.datetime) -> list[UsageRow]:
    images = dict(
        Image.objects.filter(workspace=workspace, source=ImageSource.JOB, created_at__gte=since)
        .values_list("model_id")
        .annotate(n=Count("pk"))
        .values_list("model_id", "n")
    )
    spent = _job_costs(workspace=workspace, since=since, key="model_id")
    rows = [
        UsageRow(str(model or "unknown"), int(images.get(model, 0)), tuple(spent.get(model, ())))
        for model in {*images, *spent}
    ]
    return sorted(rows, key=lambda row: (-row.images, row.label))


# --- Reconciliation ---------------------------------------------------------------------------


def _images_text(n: int) -> str:
    return amount_text(Decimal(n), IMAGES)


def reconciliation(
    *, settled: Decimal, unit: str, quota: QuotaSnapshot | None, in_flight: Decimal = Decimal(0)
) -> str:
    """What Darkroom's ledger settled this month against what the provider reports used, in a
    sentence: "Darkroom: 412 images · provider: 415 · 3 made outside Darkroom"."""
    if unit != IMAGES:
        ours = _("Darkroom: %(amount)s settled this month") % {"amount": money(settled, unit)}
        if quota is None:
            return _("%(ours)s · provider: no report yet") % {"ours": ours}
        if quota.kind == "balance" and quota.balance is not None:
            balance = money(quota.balance, quota.currency or unit)
            return _(
                "%(ours)s · provider: a balance of %(balance)s left, with no monthly figure to "
                "compare"
            ) % {"ours": ours, "balance": balance}
        return _("%(ours)s · provider: not available") % {"ours": ours}
    count = int(settled)
    ours = _("Darkroom: %(images)s") % {"images": _images_text(count)}
    if quota is None:
        return _("%(ours)s · provider: no report yet") % {"ours": ours}
    if quota.monthly_used is None:
        return _("%(ours)s · provider: not available (it reports no monthly figure)") % {
            "ours": ours
        }
    sentence = _("%(ours)s · provider: %(used)s") % {"ours": ours, "used": quota.monthly_used}
    difference = quota.monthly_used - count
    if difference > 0:
        sentence += " · " + _("%(count)s made outside Darkroom") % {"count": difference}
    elif difference < 0:
        sentence += " · " + _("Darkroom counted %(count)s more than the provider reports") % {
            "count": -difference
        }
    else:
        sentence += " · " + _("they agree")
    if in_flight > 0:
        sentence += " " + _("(%(images)s reserved by jobs still running)") % {
            "images": _images_text(int(in_flight))
        }
    return sentence
