"""What the provider says about a workspace's quota or balance."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Workspace
from providers.base import daily_left, images_left


class QuotaSnapshot(models.Model):
    """What the provider said about the workspace's quota or balance at one moment."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="quota_snapshots"
    )
    taken_at = models.DateTimeField(auto_now_add=True, db_index=True)
    kind = models.CharField(max_length=10)  # "credits" (neuroflash) or "balance" (NanoGPT)
    monthly_used = models.IntegerField(null=True)
    monthly_available = models.IntegerField(null=True)
    monthly_limit = models.IntegerField(null=True)
    daily_used = models.IntegerField(null=True)
    daily_limit = models.IntegerField(null=True)
    bonus = models.IntegerField(null=True)
    spillover = models.IntegerField(null=True)
    fair_use_reached = models.BooleanField(null=True)
    balance = models.DecimalField(max_digits=14, decimal_places=6, null=True)
    currency = models.CharField(max_length=12, blank=True)

    class Meta:
        ordering = ("-taken_at", "-id")
        get_latest_by = "taken_at"

    def __str__(self) -> str:
        return f"Quota of {self.workspace_id} at {self.taken_at:%Y-%m-%d %H:%M}"

    @property
    def daily_left(self) -> int | None:
        return daily_left(daily_limit=self.daily_limit, daily_used=self.daily_used)

    @property
    def images_left(self) -> int | None:
        """How many more images fit now (`providers.base.images_left`, as for a live quota)."""
        return images_left(
            monthly_available=self.monthly_available,
            daily_limit=self.daily_limit,
            daily_used=self.daily_used,
        )

    @property
    def limiting_period(self) -> str:
        """ "today" when the daily limit is what leaves the least room, else "this month"."""
        return "today" if self.images_left != self.monthly_available else "this month"

    @property
    def monthly_percent(self) -> int | None:
        share = _share(self.monthly_used, self.monthly_limit)
        return None if share is None else min(round(share * 100), 100)

    @property
    def level(self) -> str:
        """How the meter reads: "exhausted" once no image fits, "warning" from NEAR_LIMIT of the
        monthly or the daily limit used or when fair use is reached, "ok" otherwise."""
        shares = [
            share
            for share in (
                _share(self.monthly_used, self.monthly_limit),
                _share(self.daily_used, self.daily_limit),
            )
            if share is not None
        ]
        if self.images_left == 0 or any(share >= 1 for share in shares):
            return "exhausted"
        if self.fair_use_reached or any(share >= NEAR_LIMIT for share in shares):
            return "warning"
        return "ok"

    @property
    def is_stale(self) -> bool:
        """No newer report for three refresh intervals: the provider is not answering."""
        stale_after = dt.timedelta(minutes=3 * settings.QUOTA_REFRESH_MINUTES)
        return timezone.now() - self.taken_at > stale_after


# The meter turns amber once this share of the monthly or the daily limit is used.
NEAR_LIMIT = 0.8


def _share(used: int | None, limit: int | None) -> float | None:
    return used / limit if used is not None and limit else None
