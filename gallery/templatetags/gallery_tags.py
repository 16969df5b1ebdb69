from __future__ import annotations

from django import template
from django.urls import reverse

from accounts.models import Membership
from gallery.models import Image, Job

register = template.Library()


@register.filter
def model_name(model_id: str, names: dict[str, str] | None) -> str:
    """The catalog's name for a model id (the id itself for models no longer listed)."""
    return (names or {}).get(model_id, model_id)


@register.filter
def can_be_cancelled_by(job: Job, membership: Membership | None) -> bool:
    """`{% if job|can_be_cancelled_by:membership %}`: the card asks the job, as the view does."""
    return membership is not None and job.can_be_cancelled_by(membership)


@register.simple_tag(takes_context=True)
def thumbnail_url(context: template.Context, image: Image) -> str:
    """Where a page of the current workspace shows `image`'s thumbnail:
    `<img src="{% thumbnail_url image %}">` (no query per image)."""
    return reverse("gallery:image_thumbnail", args=[context["workspace"].slug, image.pk])
