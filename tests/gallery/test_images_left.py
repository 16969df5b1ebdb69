"""How many images still fit: one rule, the same for a live quota and a stored snapshot."""

from __future__ import annotations

import pytest

from gallery.models import QuotaSnapshot
from providers import QuotaInfo


@pytest.mark.parametrize(
    ("monthly_available", "daily_limit", "daily_used", "left"),
    [
        (40, 20, 5, 15),  # the day has less room than the month
        (3, 20, 5, 3),  # the month has less room than the day
        (40, 20, 25, 0),  # over the daily limit (a batch ran past it) is none left, not -5
        (40, None, None, 40),  # no daily limit reported
        (None, 20, 5, 15),  # no monthly figure reported
        (None, None, None, None),  # nothing reported: unknown, not zero
    ],
)
def test_a_live_quota_and_its_snapshot_say_the_same(
    workspace, monthly_available, daily_limit, daily_used, left
):
    figures = {
        "monthly_available": monthly_available,
        "daily_limit": daily_limit,
        "daily_used": daily_used,
    }
    live = QuotaInfo(kind="credits", **figures)
    stored = QuotaSnapshot.objects.create(workspace=workspace, kind="credits", **figures)
    stored.refresh_from_db()
    assert live.remaining == stored.images_left == left
