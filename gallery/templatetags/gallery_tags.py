from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

register = template.Library()


@register.filter
def duration(start: dt.datetime | None, end: dt.datetime | None = None) -> str:
    """A short duration between two moments (or until now): "4 s", "2 min 5 s", "1 h 3 min"."""
    if start is None:
        return ""
    seconds = max(int(((end or timezone.now()) - start).total_seconds()), 0)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


@register.inclusion_tag("gallery/quota_meter.html")
def quota_meter(workspace: object) -> dict[str, object]:
    """The workspace's quota as the provider last reported it, coloured at 80 % and 100 %.

    Never blank while any report exists: when the provider stops answering, the last known value
    stays, with its age.
    """
    from django.conf import settings

    from gallery.models import QuotaSnapshot

    snapshot = QuotaSnapshot.objects.filter(workspace=workspace).first()
    if snapshot is None:
        return {"quota": None}
    level = "ok"
    share = None
    if snapshot.monthly_limit and snapshot.monthly_used is not None:
        share = snapshot.monthly_used / snapshot.monthly_limit
    if snapshot.images_left == 0 or (share is not None and share >= 1):
        level = "exhausted"
    elif (share is not None and share >= 0.8) or snapshot.fair_use_reached:
        level = "warning"
    stale_after = dt.timedelta(minutes=3 * settings.QUOTA_REFRESH_MINUTES)
    return {
        "quota": snapshot,
        "level": level,
        "percent": None if share is None else min(round(share * 100), 100),
        "stale": timezone.now() - snapshot.taken_at > stale_after,
    }


@register.filter
def ago(moment: dt.datetime | None) -> str:
    """ "just now", "5 minutes ago": Django's timesince reads "0 minutes" for fresh moments."""
    if moment is None:
        return ""
    if timezone.now() - moment < dt.timedelta(minutes=1):
        return "just now"
    return f"{timesince(moment)} ago"
