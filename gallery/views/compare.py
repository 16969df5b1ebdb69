"""Compare models: one prompt sent to two to four models, and the results side by side."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods

from accounts.access import WorkspaceRequest, get_membership
from accounts.models import Membership, Role
from accounts.selectors import credential_for_workspace
from gallery import selectors
from gallery.access import get_comparison
from gallery.comparison_forms import CompareForm
from gallery.services import jobs
from gallery.services.comparisons import comparison_submit

PAGE = "gallery/compare.html"
DETAIL = "gallery/comparison.html"


def _form(
    membership: Membership, data: QueryDict | None = None, *, query: QueryDict | None = None
) -> CompareForm:
    workspace = membership.workspace
    return CompareForm(
        data,
        models=selectors.catalog_for(workspace=workspace),
        credential=credential_for_workspace(workspace=workspace),
        query=query,
    )


def _before(request: WorkspaceRequest) -> int | None:
    value = request.GET.get("before", "")
    return int(value) if value.isdigit() else None


@login_required
@require_http_methods(["GET", "POST"])
def compare(request: WorkspaceRequest, slug: str) -> HttpResponse:
    """The compare form (members) above the workspace's past comparisons (everyone)."""
    membership = get_membership(request, slug)  # a POST needs a member (get_membership)
    form = None
    if membership.can_write:
        if request.method == "POST":
            form = _form(membership, request.POST)
        else:
            form = _form(membership, query=request.GET)
    if request.method == "POST" and form is not None and form.is_valid():
        try:
            comparison = comparison_submit(
                workspace=membership.workspace,
                author=request.user,
                prompt=form.cleaned_data["prompt"],
                requests=form.job_requests(),
                idempotency_key=form.cleaned_data["idempotency_key"],
            )
        except jobs.SubmitRefused as exc:
            form.add_error(None, str(exc))
            if exc.lacking is not None:  # over the member's own budget: offer to ask for more
                form.ask_for_more = f"{exc.lacking.normalize():f}"
        else:
            if comparison.jobs.filter(error=jobs.WORKERS_UNREACHABLE).exists():
                messages.warning(request, jobs.WORKERS_UNREACHABLE)
            return redirect("gallery:comparison", slug=slug, comparison_id=comparison.pk)
    page = selectors.comparison_page(workspace=membership.workspace, before=_before(request))
    status = 422 if form is not None and form.has_errors else 200
    return render(request, PAGE, {"form": form, "past": page}, status=status)


@login_required
@require_GET
def compare_preview(request: WorkspaceRequest, slug: str) -> HttpResponse:
    """The picked models' options and each one's cost, with the total out of band: asked again
    whenever a model is ticked or an option changes."""
    membership = get_membership(request, slug, role=Role.MEMBER)
    form = _form(membership, query=request.GET)
    return render(request, f"{PAGE}#picks-and-cost", {"form": form})


@login_required
@require_GET
def comparison(request: WorkspaceRequest, slug: str, comparison_id: int) -> HttpResponse:
    """The results side by side, one column a model; the columns poll while any job runs."""
    membership = get_membership(request, slug)
    found = get_comparison(membership, comparison_id)
    results = selectors.comparison_jobs(comparison=found)
    images = [image for job in results for image in job.visible_images]  # type: ignore[attr-defined]
    favourites = selectors.favourite_ids(user=request.user, images=images)
    for image in images:
        image.is_favourite = image.pk in favourites
    context = {
        "comparison": found,
        "results": results,
        "running": any(job.is_active for job in results),
    }
    template = f"{DETAIL}#results" if request.htmx else DETAIL
    return render(request, template, context)
