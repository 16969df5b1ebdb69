"""The usage page: daily chart, per member and per model, and the forecast."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from gallery.models import Image, Job, QuotaSnapshot
from gallery.usage import (
    Day,
    chart_bars,
    daily_usage,
    forecast,
    usage_by_member,
    usage_by_model,
)

TODAY = dt.date(2026, 12, 1)


def series(*counts: int) -> list[Day]:
    start = TODAY - dt.timedelta(days=len(counts) - 1)
    return [Day(start + dt.timedelta(days=i), n, True) for i, n in enumerate(counts)]


def test_the_forecast_names_the_day_the_quota_runs_out():
    # 10 a day for the last week, 95 left on 1 Dec: gone on the 10th.
    result = forecast(series=series(0, 0, 10, 10, 10, 10, 10, 10, 10), monthly_left=95, today=TODAY)
    assert result.per_day == 10
    assert result.sentence == "At the last 7 days' pace, the monthly quota runs out on 10 Dec."


def test_the_forecast_says_when_the_quota_lasts_the_month():
    result = forecast(series=series(1, 1, 1, 1, 1, 1, 1), monthly_left=500, today=TODAY)
    assert result.sentence == "At the last 7 days' pace, the monthly quota lasts the month."


def test_no_recent_use_lasts_the_month_and_no_quota_means_no_forecast():
    assert (
        forecast(series=series(0, 0, 0, 0, 0, 0, 0), monthly_left=5, today=TODAY).runs_out_on
        is None
    )
    assert forecast(series=series(3, 3), monthly_left=None, today=TODAY) is None


def test_the_chart_scales_bars_to_the_busiest_day():
    bars, top = chart_bars(series(0, 5, 10), width=300, height=100)
    assert top == 10
    assert [b.height for b in bars] == [0, 50, 100]
    assert bars[2].y == 0


@pytest.mark.django_db
def test_daily_usage_prefers_the_providers_report_and_falls_back_to_our_jobs(workspace, member):
    now = timezone.now()
    today = timezone.localdate()
    QuotaSnapshot.objects.create(workspace=workspace, kind="credits", daily_used=4)
    QuotaSnapshot.objects.create(workspace=workspace, kind="credits", daily_used=7)
    yesterday_image = Image.objects.create(workspace=workspace, author=member, source="job")
    Image.objects.filter(pk=yesterday_image.pk).update(created_at=now - dt.timedelta(days=1))
    days = daily_usage(workspace=workspace, today=today)
    assert len(days) == 30
    assert (days[-1].images, days[-1].reported) == (7, True)
    assert (days[-2].images, days[-2].reported) == (1, False)


def test_the_usage_page_shows_chart_members_models_and_forecast(
    member_client, studio, submit, member
):
    from tests.gallery.running import run_until_done

    run_until_done(submit(n=2))
    from gallery.services.quota import quota_refresh

    quota_refresh(workspace=studio)
    html = member_client.get(reverse("gallery:usage", args=[studio.slug])).content.decode()
    assert html.count("<rect ") == 30
    assert member.get_full_name() in html
    assert "<td>Nano Banana 2</td>" in html  # the catalog's name, not the id
    assert "At the last 7 days&#x27; pace" in html or "At the last 7 days' pace" in html


@pytest.mark.django_db
def test_the_month_sums_what_each_member_and_model_actually_cost(workspace, member, owner):
    month_start = timezone.now().replace(day=1, hour=0, minute=0, second=0, microsecond=0)

    def job(author, model, cost, currency="USD", images=1, key=None, created=None):
        made = Job.objects.create(
            workspace=workspace,
            author=author,
            prompt="p",
            model_id=model,
            idempotency_key=key or f"k-{Job.objects.count()}",
            params={"n": images},
            cost=cost,
            currency=currency,
        )
        for _ in range(images):
            Image.objects.create(
                workspace=workspace, author=author, job=made, model_id=model, source="job"
            )
        if created:
            Job.objects.filter(pk=made.pk).update(created_at=created)
        return made

    job(member, "hidream", Decimal("0.0224"), images=2)
    job(member, "openai/gpt-image-1", Decimal("0.04"))
    job(owner, "hidream", Decimal("0.0112"))
    job(owner, "hidream", Decimal("0.0112"), images=0)  # charged, no images delivered
    job(owner, "hidream", None)  # still running: nothing reported yet
    last_month = month_start - dt.timedelta(days=1)
    job(member, "hidream", Decimal("9"), images=0, created=last_month)
    job(owner, "nano-banana-2", Decimal("2"), currency="credits", images=2)

    by_member = usage_by_member(workspace=workspace, since=month_start)
    by_model = usage_by_model(workspace=workspace, since=month_start)

    assert [(r.label, r.images, r.cost) for r in by_member] == [
        (owner.display_name, 4, "$0.0224 + 2 images of the quota"),
        (member.display_name, 3, "$0.0624"),
    ]
    assert [(r.label, r.images, r.cost) for r in by_model] == [
        ("hidream", 4, "$0.0448"),
        ("nano-banana-2", 2, "2 images of the quota"),
        ("openai/gpt-image-1", 1, "$0.04"),
    ]
