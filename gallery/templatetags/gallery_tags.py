from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.urls import reverse

from accounts.models import Membership
from gallery import ledger, selectors
from gallery.comparison_forms import CompareCost, CompareForm
from gallery.costs import CostEstimate
from gallery.forms import JobForm
from gallery.models import Image, Job, LedgerEntry
from gallery.services.budgets import budget_left
from gallery.thumbnails import thumbnail_expiry, thumbnail_token

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
    """Where a member's page shows `image`'s thumbnail: `<img src="{% thumbnail_url image %}">`.

    A signed URL that expires (gallery.thumbnails), served without a query; only pages behind
    `get_membership` render this tag. An image without a thumbnail yet gets the checked URL,
    which answers 404 until there is one."""
    return issued_thumbnail_url(context, image)


def issued_thumbnail_url(context: template.Context, image: Image) -> str:
    """`{% thumbnail_url %}` for Python callers (the grid's tiles)."""
    if not image.thumbnail:
        return reverse("gallery:image_thumbnail", args=[context["workspace"].slug, image.pk])
    # Once per render, not per tile: reverse() costs ~40 µs, 2 ms on a page of 48.
    issued = context.render_context.get("thumbnail_url_parts")
    if not isinstance(issued, tuple):
        before, _, after = reverse("thumbnail", args=["-"]).rpartition("-")
        issued = context.render_context["thumbnail_url_parts"] = (
            before,
            after,
            thumbnail_expiry(),
        )
    before, after, expires = issued
    return f"{before}{thumbnail_token(image, expires=expires)}{after}"


@register.simple_tag(takes_context=True)
def cost_estimate(context: template.Context, form: JobForm) -> CostEstimate | None:
    """`{% cost_estimate form as estimate %}`: what the form's request would cost, in what the
    workspace's provider counts, against the latest quota report the page already reads."""
    if form.selected is None:
        return None
    return form.cost_estimate(**_costs_context(context))


@register.simple_tag(takes_context=True)
def compare_cost(context: template.Context, form: CompareForm) -> CompareCost:
    """`{% compare_cost form as cost %}`: each picked model's cost and the comparison's total,
    measured as `cost_estimate` measures one request."""
    return form.cost(**_costs_context(context))


def _costs_context(context: template.Context) -> dict[str, Any]:
    """What a cost line is measured against: the provider's unit, its latest report, what
    queued jobs will take and the member's budget. Here rather than in the views that render
    a cost line (generate, edit, compare, the model's options, the previews): two small queries,
    more with a budget set, on those pages only."""
    workspace = context["workspace"]
    credential = getattr(workspace, "credential", None)
    quota_kind = credential.capabilities.quota_kind if credential is not None else None
    return {
        "quota_kind": quota_kind,
        "quota": context.get("quota") or None,  # a lazy report: falsy when there is none
        "in_flight": selectors.in_flight(workspace=workspace, since=_taken_at(context)),
        "budget": budget_left(workspace=workspace, user=context["request"].user),
    }


def _taken_at(context: template.Context) -> dt.datetime | None:
    quota = context.get("quota") or None
    return quota.taken_at if quota is not None else None


@register.filter
def ledger_amount(entry: LedgerEntry) -> str:
    """A ledger entry's amount as people read it: "+4 images", "+$0.0112", "2 images more"."""
    return ledger.entry_amount_text(entry)


@register.filter
def ledger_member(entry: LedgerEntry) -> str:
    return ledger.entry_member(entry)


@register.filter
def ledger_made_by(entry: LedgerEntry) -> str:
    return ledger.entry_made_by(entry)
