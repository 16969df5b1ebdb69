"""Object access for gallery views: one helper per kind, 404 for anything outside the workspace."""

from __future__ import annotations

from django.utils.translation import gettext as _

from accounts.access import one_or_404
from accounts.models import Membership
from gallery.models import BudgetRequest, Collection, Comment, Comparison, Image, Job, Webhook


def get_job(membership: Membership, job_id: int) -> Job:
    rows = Job.objects.select_related("author", "parent_image").filter(
        pk=job_id, workspace=membership.workspace
    )
    return one_or_404(rows, _("No such job"))


def get_image(membership: Membership, image_id: int) -> Image:
    rows = (
        Image.objects.visible()
        .select_related("workspace", "author", "parent", "job")
        .filter(pk=image_id, workspace=membership.workspace)
    )
    return one_or_404(rows, _("No such image"))


def get_comment(image: Image, comment_id: int) -> Comment:
    """A comment on `image` (already checked to be in the member's workspace); 404 for a
    comment on any other image, so an id from elsewhere opens nothing."""
    return one_or_404(Comment.objects.filter(pk=comment_id, image=image), _("No such comment"))


def get_collection(membership: Membership, collection_id: int) -> Collection:
    rows = Collection.objects.filter(pk=collection_id, workspace=membership.workspace)
    return one_or_404(rows, _("No such collection"))


def get_comparison(membership: Membership, comparison_id: int) -> Comparison:
    rows = Comparison.objects.select_related("author", "workspace").filter(
        pk=comparison_id, workspace=membership.workspace
    )
    return one_or_404(rows, _("No such comparison"))


def get_budget_request(membership: Membership, request_id: int) -> BudgetRequest:
    rows = BudgetRequest.objects.select_related("member", "workspace").filter(
        pk=request_id, workspace=membership.workspace
    )
    return one_or_404(rows, _("No such request"))


def get_webhook(admin: Membership) -> Webhook:
    """The webhook of the admin's workspace (the view asked for the admin role); 404 if none."""
    rows = Webhook.objects.select_related("workspace").filter(workspace=admin.workspace)
    return one_or_404(rows, _("No webhook"))
