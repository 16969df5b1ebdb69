"""Usage figures for the usage page: daily series, per member and per model, and a forecast.

Daily usage comes from what the provider reported (the highest `daily_used` of each day's quota
snapshots), so images made outside Darkroom count too; days without a snapshot fall back to the
images Darkroom's own jobs made that day.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Max
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.models import Workspace
from gallery.models import Image, ImageSource, QuotaSnapshot


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
            return "No images in the last 7 days: the monthly quota lasts the month."
        if self.runs_out_on is None:
            return "At the last 7 days' pace, the monthly quota lasts the month."
        when = f"{self.runs_out_on.day} {self.runs_out_on:%b}"
        return f"At the last 7 days' pace, the monthly quota runs out on {when}."


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


def usage_by_member(*, workspace: Workspace, since: dt.datetime) -> list[tuple[str, int]]:
    rows = (
        Image.objects.filter(workspace=workspace, source=ImageSource.JOB, created_at__gte=since)
        .values("author__email", "author__first_name", "author__last_name")
        .annotate(n=Count("pk"))
        .order_by("-n")
    )
    named = []
    for row in rows:
        name = f"{row['author__first_name']} {row['author__last_name']}".strip()
        named.append((name or row["author__email"] or "a removed user", row["n"]))
    return named


def usage_by_model(*, workspace: Workspace, since: dt.datetime) -> list[tuple[str, int]]:
    rows = (
        Image.objects.filter(workspace=workspace, source=ImageSource.JOB, created_at__gte=since)
        .values_list("model_id")
        .annotate(n=Count("pk"))
        .order_by("-n")
    )
    return [(model or "unknown", n) for model, n in rows]
