"""The bell: a member's notifications in the workspace (budget thresholds, requests for more).
The models and services are in accounts (the unread count is read with the membership); the
pages are here, beside the other pages of a workspace. Members and admins only, as everything
they are told about is theirs to act on (viewers neither generate nor decide)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.access import WorkspaceRequest, get_membership
from accounts.models import Notification
from accounts.notifications import notification_mark_read

RECENT = 20


def _context(request: WorkspaceRequest) -> dict[str, object]:
    membership = request.membership
    recent = Notification.objects.filter(recipient=request.user, workspace=membership.workspace)
    return {"notifications": list(recent[:RECENT])}


@login_required
@require_GET
def notifications(request: WorkspaceRequest, slug: str) -> HttpResponse:
    """The recent notifications: a page, or the bell's dropdown list (htmx)."""
    get_membership(request, slug)
    template = "gallery/notifications.html"
    if request.htmx:
        template += "#notification-list"
    return render(request, template, _context(request))


@login_required
@require_POST
def notification_open(request: WorkspaceRequest, slug: str, notification_id: int) -> HttpResponse:
    """Mark one notification read and go where it points (a page of this site only)."""
    membership = get_membership(request, slug)
    notification = notification_mark_read(
        user=request.user, workspace=membership.workspace, notification_id=notification_id
    )
    if notification is None:
        raise Http404(_("No such notification"))
    safe = url_has_allowed_host_and_scheme(notification.url, allowed_hosts=None)
    if notification.url and safe:
        return redirect(notification.url)
    return redirect("gallery:notifications", slug=slug)


@login_required
@require_POST
def notifications_read(request: WorkspaceRequest, slug: str) -> HttpResponse:
    """Mark all of the member's notifications in the workspace read."""
    membership = get_membership(request, slug)
    notification_mark_read(user=request.user, workspace=membership.workspace)
    if request.htmx:
        membership.unread_notifications = 0
        return render(request, "gallery/notifications.html#bell", _context(request))
    return redirect("gallery:notifications", slug=slug)
