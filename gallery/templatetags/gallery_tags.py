from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone

from accounts.models import Membership
from gallery.models import Job

register = template.Library()


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
def model_name(model_id: str, names: dict[str, str] | None) -> str:
    """The catalog's name for a model id (the id itself for models no longer listed)."""
    return (names or {}).get(model_id, model_id)


@register.filter
def can_be_cancelled_by(job: Job, membership: Membership | None) -> bool:
    """`{% if job|can_be_cancelled_by:membership %}`: the card asks the job, as the view does."""
    return membership is not None and job.can_be_cancelled_by(membership)
