"""The gallery page and the history mirror's panel."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts.access import WorkspaceRequest, get_membership
from accounts.models import Membership, Role
from accounts.services import user_remember_workspace
from gallery import selectors
from gallery.filters import GalleryFilter
from gallery.models import HistorySync
from gallery.services import sync
from gallery.services.quota import quota_refresh_request

# --- Gallery ----------------------------------------------------------------------------------


@login_required
@require_GET
def home(request: WorkspaceRequest, slug: str) -> HttpResponse:
    membership = get_membership(request, slug)
    image_filter, _ = GalleryFilter.from_query(request.GET)
    page = selectors.image_page(
        workspace=membership.workspace,
        user=request.user,
        image_filter=image_filter,
        cursor=request.GET.get("after"),
    )
    if request.htmx and request.GET.get("after"):  # "Show more": just the next tiles
        return render(request, "gallery/home.html#grid-page", {"page": page})
    user_remember_workspace(user=request.user, workspace=membership.workspace)
    quota = selectors.quota_latest(workspace=membership.workspace)
    if quota is None:
        quota_refresh_request(workspace=membership.workspace)  # the meter's first report
    context = {
        "page": page,
        "sync": selectors.sync_status(workspace=membership.workspace),
        "quota": quota,  # read once: the header's meter needs it too
    }
    return render(request, "gallery/home.html", context)


# --- History mirror ---------------------------------------------------------------------------


@login_required
@require_POST
def sync_now(request: WorkspaceRequest, slug: str) -> HttpResponse:
    membership = get_membership(request, slug, role=Role.MEMBER)
    run = sync.sync_request(
        workspace=membership.workspace, mode=HistorySync.Mode.FULL, requested_by=request.user
    )
    if request.htmx:
        return _sync_panel(request, membership)
    messages.info(request, "Syncing with the provider's history. Reload to see the progress.")
    return redirect(f"{reverse('gallery:home', args=[slug])}#sync-{run.pk}")


@login_required
@require_GET
def sync_panel(request: WorkspaceRequest, slug: str) -> HttpResponse:
    membership = get_membership(request, slug)
    if not request.htmx:
        return redirect("gallery:home", slug=slug)
    return _sync_panel(request, membership)


def _sync_panel(request: WorkspaceRequest, membership: Membership) -> HttpResponse:
    context = {"sync": selectors.sync_status(workspace=membership.workspace)}
    return render(request, "gallery/home.html#sync-panel", context)
