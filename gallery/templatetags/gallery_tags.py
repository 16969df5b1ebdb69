from __future__ import annotations

from django import template

from accounts.models import Membership
from gallery.models import Job

register = template.Library()


@register.filter
def model_name(model_id: str, names: dict[str, str] | None) -> str:
    """The catalog's name for a model id (the id itself for models no longer listed)."""
    return (names or {}).get(model_id, model_id)


@register.filter
def can_be_cancelled_by(job: Job, membership: Membership | None) -> bool:
    """`{% if job|can_be_cancelled_by:membership %}`: the card asks the job, as the view does."""
    return membership is not None and job.can_be_cancelled_by(membership)
