"""The usage page and the header's quota meter."""

from __future__ import annotations

import datetime as dt

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import push_url

from accounts.access import WorkspaceRequest, get_membership
from accounts.models import Role
from gallery import ledger, selectors, usage
from gallery.budget_figures import budget_bars
from gallery.models.budgets import this_month
from gallery.quota_facts import quota_facts
from gallery.services.budgets import budget_unit
from gallery.services.quota import (
    meter_recheck,
    quota_first_report_request,
    quota_refresh_request,
)

# --- Usage ------------------------------------------------------------------------------------


@login_required
@require_GET
@vary_on_headers("HX-Request", "HX-Target")  # the whole page, or the ledger alone
def usage_page(request: WorkspaceRequest, slug: str) -> HttpResponse:
    """The usage page. htmx asks for just the ledger when its filter or page changes."""
    membership = get_membership(request, slug)
    workspace = membership.workspace
    ledger_filter, ledger_form = ledger.ledger_filter_from_query(request.GET, viewer=membership)
    before = _int(request.GET.get("before"))
    context: dict[str, object] = {
        "ledger_form": ledger_form,
        "ledger_query": ledger_filter.query_string(),
        "ledger_before": before,
        "ledger_page": ledger.ledger_page(
            viewer=membership, ledger_filter=ledger_filter, before=before
        ),
    }
    if request.htmx and not request.htmx.history_restore_request:
        response = render(request, "gallery/usage.html#ledger-swap", context)
        return push_url(response, _usage_url(slug, ledger_filter.query_string(), before))
    today = timezone.localdate()
    series = usage.daily_usage(workspace=workspace, today=today)
    quota = selectors.quota_latest(workspace=workspace)
    bars, top = usage.chart_bars(series)
    month_start = timezone.now().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    unit = budget_unit(workspace)
    budget = budget_bars(
        workspace=workspace, unit=unit, only=None if membership.is_admin else request.user
    )
    context |= {
        "bars": bars,
        "top": top,
        "total_30": sum(day.images for day in series),
        "forecast": usage.forecast(
            series=series, monthly_left=quota.monthly_available if quota else None, today=today
        ),
        "by_member": usage.usage_by_member(workspace=workspace, since=month_start),
        "by_model": usage.usage_by_model(workspace=workspace, since=month_start),
        "quota": quota,
        "quota_facts": quota_facts(quota) if quota is not None else [],
        "budget": budget,
        "reconciliation": usage.reconciliation(
            settled=ledger.ledger_settled(workspace=workspace, unit=unit, period=this_month()),
            unit=unit,
            quota=quota,
            in_flight=budget.cap.reserved,
        ),
    }
    return render(request, "gallery/usage.html", context)


@login_required
@require_GET
def usage_ledger_csv(request: WorkspaceRequest, slug: str) -> StreamingHttpResponse:
    """The filtered ledger as CSV: every entry the filter matches that the viewer may see."""
    membership = get_membership(request, slug)
    ledger_filter, _ = ledger.ledger_filter_from_query(request.GET, viewer=membership)
    entries = ledger.ledger_entries(viewer=membership, ledger_filter=ledger_filter)
    name = f"darkroom-ledger-{slug}-{ledger_filter.period_slug}.csv"
    return StreamingHttpResponse(
        ledger.ledger_csv_lines(entries),
        content_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _int(value: str | None) -> int | None:
    """A page cursor; a mangled one means the first page rather than an error."""
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _usage_url(slug: str, query: str, before: int | None) -> str:
    """The canonical address of the usage page with this ledger filter and page."""
    if before is not None:
        query = f"{query}&before={before}" if query else f"before={before}"
    url = reverse("gallery:usage", args=[slug])
    return f"{url}?{query}" if query else url


@login_required
@require_GET
def quota_meter(request: WorkspaceRequest, slug: str) -> HttpResponse:
    """The header's quota meter alone, for htmx to swap in. With `job_ended` (ms since the
    epoch) it asks again until the report taken after that job's end is in."""
    membership = get_membership(request, slug)
    latest = selectors.quota_latest(workspace=membership.workspace)  # read once, passed on
    context: dict[str, object] = {"quota": latest}
    job_ended = _milliseconds(request.GET.get("job_ended", ""))
    if job_ended is not None:
        recheck = meter_recheck(
            latest=latest,
            job_ended_at=dt.datetime.fromtimestamp(job_ended / 1000, tz=dt.UTC),
            now=timezone.now(),
        )
        context |= {"recheck_after": recheck, "job_ended": job_ended}
    elif latest is None:  # a new workspace: have its first report fetched
        quota_first_report_request(workspace=membership.workspace)
        context["recheck_after"] = 10
    return render(request, "gallery/quota_meter_slot.html", context)


def _milliseconds(value: str) -> int | None:
    """A time as milliseconds since the epoch, if `value` is one (between 2001 and 2286)."""
    return int(value) if value.isdigit() and len(value) == 13 else None


@login_required
@require_POST
def quota_refresh_now(request: WorkspaceRequest, slug: str) -> HttpResponse:
    membership = get_membership(request, slug, role=Role.MEMBER)
    quota_refresh_request(workspace=membership.workspace)
    messages.info(request, _("Asking the provider for the current quota. Reload in a moment."))
    return redirect("gallery:usage", slug=slug)
