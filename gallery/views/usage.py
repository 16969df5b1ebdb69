"""The usage page and the header's quota meter."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from accounts.access import WorkspaceRequest, get_membership
from accounts.models import Role
from gallery import selectors, usage
from gallery.services.quota import quota_refresh_request

# --- Usage ------------------------------------------------------------------------------------


@login_required
@require_GET
def usage_page(request: WorkspaceRequest, slug: str) -> HttpResponse:
    membership = get_membership(request, slug)
    workspace = membership.workspace
    today = timezone.localdate()
    series = usage.daily_usage(workspace=workspace, today=today)
    quota = selectors.quota_latest(workspace=workspace)
    bars, top = usage.chart_bars(series)
    month_start = timezone.now().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    context = {
        "bars": bars,
        "top": top,
        "total_30": sum(day.images for day in series),
        "forecast": usage.forecast(
            series=series, monthly_left=quota.monthly_available if quota else None, today=today
        ),
        "by_member": usage.usage_by_member(workspace=workspace, since=month_start),
        "by_model": usage.usage_by_model(workspace=workspace, since=month_start),
    }
    return render(request, "gallery/usage.html", context)


@login_required
@require_GET
def quota_meter(request: WorkspaceRequest, slug: str) -> HttpResponse:
    """The header's quota meter alone, for htmx to swap in."""
    get_membership(request, slug)  # the context processor brings the latest report
    return render(request, "gallery/quota_meter_slot.html")


@login_required
@require_POST
def quota_refresh_now(request: WorkspaceRequest, slug: str) -> HttpResponse:
    membership = get_membership(request, slug, role=Role.MEMBER)
    quota_refresh_request(workspace=membership.workspace)
    messages.info(request, "Asking the provider for the current quota. Reload in a moment.")
    return redirect("gallery:usage", slug=slug)
