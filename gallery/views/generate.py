"""The generate page, its model options, and the job cards and actions on it."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.access import WorkspaceRequest, get_membership
from accounts.models import Membership, Role, Workspace
from accounts.selectors import credential_for_workspace
from gallery import selectors
from gallery.access import get_job
from gallery.forms import EditForm, JobForm, initial_from_query
from gallery.models import Job, JobKind, JobState
from gallery.services import jobs
from gallery.services.catalog import catalog_refresh_request
from gallery.services.quota import QUOTA_REFRESH_DEBOUNCE_SECONDS

# --- Generate ---------------------------------------------------------------------------------


def submit_from_form(
    request: WorkspaceRequest, form: JobForm, *, workspace: Workspace, job_request: jobs.JobRequest
) -> Job | None:
    """Queue the job a valid generate or edit form asks for. None when it is refused: the reason
    is then on the form. Says so when no worker can be reached (the job waits for one)."""
    try:
        job = jobs.job_submit(
            workspace=workspace,
            author=request.user,
            request=job_request,
            idempotency_key=form.cleaned_data["idempotency_key"],
        )
    except jobs.SubmitRefused as exc:
        form.add_error(None, str(exc))
        if exc.lacking is not None:  # over the member's own budget: offer to ask for more
            form.ask_for_more = f"{exc.lacking.normalize():f}"
        return None
    if job.error == jobs.WORKERS_UNREACHABLE:
        messages.warning(request, job.error)
    return job


def _generate_context(membership: Membership, form: JobForm, **extra: object) -> dict[str, object]:
    return {
        "form": form,
        "queue": selectors.job_list_for_queue(workspace=membership.workspace, user=membership.user),
        **extra,
    }


@login_required
@require_http_methods(["GET", "POST"])
def generate(request: WorkspaceRequest, slug: str) -> HttpResponse:
    membership = get_membership(request, slug, role=Role.MEMBER)
    workspace = membership.workspace
    models = selectors.catalog_for(workspace=workspace)
    catalog_error = ""
    if not models:
        catalog_error = selectors.catalog_error(workspace=workspace)
        if not catalog_error and request.method == "GET":
            catalog_refresh_request(workspace=workspace)  # once, however often the page polls
    form = JobForm(
        request.POST or None,
        models=models,
        credential=credential_for_workspace(workspace=membership.workspace),
        initial=initial_from_query(request.GET),
    )
    if request.method == "POST" and form.is_valid():
        job = submit_from_form(request, form, workspace=workspace, job_request=form.job_request())
        if job is not None:
            if request.htmx:
                # A fresh form (new idempotency key) keeping the model and options just used.
                kept = {
                    "model": job.model_id,
                    **{k: v for k, v in job.params.items() if k != "extra"},
                }
                fresh = JobForm(models=models, credential=form.credential, initial=kept)
                # The submit button is swapped away: the new job's card takes the focus.
                context = _generate_context(membership, fresh, new_job=job)
                return render(request, "gallery/generate.html#workbench", context)
            return redirect(f"{reverse('gallery:generate', args=[slug])}#job-{job.pk}")
    template = "gallery/generate.html#workbench" if request.htmx else "gallery/generate.html"
    status = 422 if form.errors and not request.htmx else 200
    context = _generate_context(membership, form, catalog_error=catalog_error)
    return render(request, template, context, status=status)


def _form_for_preview(
    request: WorkspaceRequest, membership: Membership, initial: dict[str, str]
) -> JobForm:
    """The generate or edit form (`?kind=`) as it would show with `initial`, for its partials."""
    kind = JobKind.EDIT if request.GET.get("kind") == JobKind.EDIT else JobKind.TEXT2IMAGE
    form_class = EditForm if kind == JobKind.EDIT else JobForm
    models = selectors.catalog_for(workspace=membership.workspace, kind=kind)
    return form_class(models=models, credential=None, initial=initial)


@login_required
@require_GET
def model_options(request: WorkspaceRequest, slug: str) -> HttpResponse:
    """The option fields of the model picked in the form (aspect ratios, formats, count…), with
    the cost of its defaults out of band: the options shown and the price always agree."""
    membership = get_membership(request, slug, role=Role.MEMBER)
    form = _form_for_preview(request, membership, {"model": request.GET.get("model", "")})
    return render(request, "gallery/generate.html#model-options-and-cost", {"form": form})


@login_required
@require_GET
def cost_preview(request: WorkspaceRequest, slug: str) -> HttpResponse:
    """The cost line under the submit button, for the model and options the form shows now."""
    membership = get_membership(request, slug, role=Role.MEMBER)
    form = _form_for_preview(request, membership, initial_from_query(request.GET))
    return render(request, "gallery/generate.html#cost-text", {"form": form})


@login_required
@require_POST
def catalog_refresh(request: WorkspaceRequest, slug: str) -> HttpResponse:
    membership = get_membership(request, slug, role=Role.MEMBER)
    catalog_refresh_request(workspace=membership.workspace, again=True)
    messages.info(request, _("Asking the provider for its current models. Reload in a moment."))
    return redirect("gallery:generate", slug=slug)


# --- Jobs -------------------------------------------------------------------------------------


@login_required
@require_GET
def job_card(request: WorkspaceRequest, slug: str, job_id: int) -> HttpResponse:
    membership = get_membership(request, slug)
    job = selectors.job_for_card(job_id=get_job(membership, job_id).pk)
    if not request.htmx:
        return redirect(f"{reverse('gallery:generate', args=[slug])}#job-{job.pk}")
    # The card's last poll: the header meter comes along and, after a job a worker ended (a
    # cancelled one sets off no quota refresh), asks again until the refresh has landed.
    ended = job.finished_at if job.state in (JobState.SUCCEEDED, JobState.FAILED) else None
    recheck = QUOTA_REFRESH_DEBOUNCE_SECONDS + 3 if ended else None
    # The author hears that their own job ended (base.html's #announcer), wherever the focus is.
    announce_end = not job.is_active and job.author_id == request.user.pk
    context = {
        "job": job,
        "meter_recheck_after": recheck,
        "meter_job_ended": int(ended.timestamp() * 1000) if ended else None,
        "announce_end": announce_end,
    }
    return render(request, "gallery/generate.html#job-card", context)


@login_required
@require_POST
def job_cancel(request: WorkspaceRequest, slug: str, job_id: int) -> HttpResponse:
    membership = get_membership(request, slug, role=Role.MEMBER)
    job = get_job(membership, job_id)
    if jobs.job_cancel(job=job, membership=membership):
        messages.success(request, _("Job cancelled."))
    else:
        messages.error(
            request, _("Too late to cancel: this job's request has already gone to the provider.")
        )
    return _back_to_job(request, membership, job)


@login_required
@require_POST
def job_retry(request: WorkspaceRequest, slug: str, job_id: int) -> HttpResponse:
    membership = get_membership(request, slug, role=Role.MEMBER)
    job = get_job(membership, job_id)
    if not job.can_retry:
        messages.error(request, _("Only failed or cancelled jobs can be retried."))
        return _back_to_job(request, membership, job)
    key = request.POST.get("idempotency_key") or f"retry-{job.pk}-{request.user.pk}"
    try:
        new = jobs.job_retry(job=job, author=request.user, idempotency_key=key[:64])
    except jobs.SubmitRefused as exc:
        messages.error(request, str(exc))
        return _back_to_job(request, membership, job)
    if new.pk == job.pk:
        messages.success(request, _("Downloading the images again. There is no new charge."))
    else:
        messages.success(request, _("Started again with the same settings."))
    return _back_to_job(request, membership, new)


def _back_to_job(request: WorkspaceRequest, membership: Membership, job: Job) -> HttpResponse:
    slug = membership.workspace.slug
    if request.htmx:
        return render(
            request,
            "gallery/generate.html#queue",
            {
                "queue": selectors.job_list_for_queue(
                    workspace=membership.workspace, user=request.user
                )
            },
        )
    return redirect(f"{reverse('gallery:generate', args=[slug])}#job-{job.pk}")
