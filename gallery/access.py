"""Object access for gallery views: one helper per kind, 404 for anything outside the workspace."""

from __future__ import annotations

from django.http import Http404
from django.utils.translation import gettext as _

from accounts.models import Membership
from gallery.models import BudgetRequest, Collection, Comment, Comparison, Image, Job, Webhook


def get_job(membership: Membership, job_id: int) -> Job:
    job = (
        Job.objects.select_related("author", "parent_image")
        .filter(pk=job_id, workspace=membership.workspace)
        .first()
    )
    if job is None:
        raise Http404(_("No such job"))
    return job


def get_image(membership: Membership, image_id: int) -> Image:
    image = (
        Image.objects.visible()
        .select_related("workspace", "author", "parent", "job")
        .filter(pk=image_id, workspace=membership.workspace)
        .first()
    )
    if image is None:
        raise Http404(_("No such image"))
    return image


def get_comment(image: Image, comment_id: int) -> Comment:
    """A comment on `image` (already checked to be in the member's workspace); 404 for a
    comment on any other image, so an id from elsewhere opens nothing."""
    comment = Comment.objects.filter(pk=comment_id, image=image).first()
    if comment is None:
        raise Http404(_("No such comment"))
    return comment


def get_collection(membership: Membership, collection_id: int) -> Collection:
    collection = Collection.objects.filter(pk=collection_id, workspace=membership.workspace).first()
    if collection is None:
        raise Http404(_("No such collection"))
    return collection


def get_comparison(membership: Membership, comparison_id: int) -> Comparison:
    comparison = (
        Comparison.objects.select_related("author", "workspace")
        .filter(pk=comparison_id, workspace=membership.workspace)
        .first()
    )
    if comparison is None:
        raise Http404(_("No such comparison"))
    return comparison


def get_budget_request(membership: Membership, request_id: int) -> BudgetRequest:
    budget_request = (
        BudgetRequest.objects.select_related("member", "workspace")
        .filter(pk=request_id, workspace=membership.workspace)
        .first()
    )
    if budget_request is None:
        raise Http404(_("No such request"))
    return budget_request


def get_webhook(admin: Membership) -> Webhook:
    """The webhook of the admin's workspace (the view asked for the admin role); 404 if none."""
    webhook = Webhook.objects.select_related("workspace").filter(workspace=admin.workspace).first()
    if webhook is None:
        raise Http404(_("No webhook"))
    return webhook
