"""The gallery page and the history mirror's panel."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import push_url

from accounts.access import WorkspaceRequest, get_membership
from accounts.models import Membership, Role
from gallery import selectors
from gallery.filters import FilterBar, GalleryFilter
from gallery.models import HistorySync
from gallery.services import sync
from gallery.services.quota import quota_refresh_request

# --- Gallery ----------------------------------------------------------------------------------


@login_required
@require_GET
@vary_on_headers("HX-Request", "HX-Target")  # one URL, three answers: never cache one as another
def home(request: WorkspaceRequest, slug: str) -> HttpResponse:
    """The gallery: the filter bar and a page of images. htmx asks for just the results (the
    filter bar changed) or just the next tiles (infinite scroll)."""
    membership = get_membership(request, slug)
    workspace = membership.workspace
    image_filter, form = GalleryFilter.from_query(request.GET)
    cursor = request.GET.get("after") or None
    page = selectors.image_page(
        workspace=workspace, user=request.user, image_filter=image_filter, cursor=cursor
    )
    context: dict[str, object] = {
        "page": page,
        "cursor": cursor,
        "filter": image_filter,
        "filter_query": image_filter.query_string(),
    }
    partial = request.htmx and not request.htmx.history_restore_request
    if partial and request.htmx.target != "results":  # the scroll sentinel: the next tiles
        return render(request, "gallery/home.html#grid-page", context)
    choices = selectors.filter_choices(workspace=workspace)
    bar = FilterBar.build(image_filter, form, choices, request.user)
    # `choices` too for the bulk bar's "add to collection".
    context |= {
        "bar": bar,
        "form": bar.form,
        "choices": choices,
        "model_names": choices.model_names,
    }
    if partial:
        response = render(request, "gallery/home.html#results-swap", context)
        # The canonical address, not the form's every empty field.
        return push_url(response, _home_url(slug, image_filter.query_string()))
    status = selectors.gallery_status(workspace=workspace)
    if status.quota is None:
        quota_refresh_request(workspace=workspace)  # the meter's first report
    context |= {"sync": status.sync, "quota": status.quota}
    return render(request, "gallery/home.html", context)


def _home_url(slug: str, query: str) -> str:
    url = reverse("gallery:home", args=[slug])
    return f"{url}?{query}" if query else url


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
    messages.info(request, _("Syncing with the provider's history. Reload to see the progress."))
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
