from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts.access import WorkspaceRequest, get_membership
from accounts.models import Membership, ProviderCredential, Role
from accounts.selectors import credential_for_workspace
from accounts.services import user_remember_workspace
from gallery import selectors, usage
from gallery.access import get_image, get_job
from gallery.forms import EditForm, JobForm, initial_from_query
from gallery.models import HistorySync, Job, JobKind
from gallery.services import images, jobs, sync
from gallery.services.catalog import catalog_refresh_request
from gallery.services.quota import quota_refresh_request
from gallery.services.runner import QUOTA_REFRESH_DEBOUNCE_SECONDS


def _credential(membership: Membership) -> ProviderCredential | None:
    return credential_for_workspace(workspace=membership.workspace)


# --- Gallery ----------------------------------------------------------------------------------


@login_required
@require_GET
def home(request: WorkspaceRequest, slug: str) -> HttpResponse:
    membership = get_membership(request, slug)
    page = selectors.image_page(workspace=membership.workspace, cursor=request.GET.get("after"))
    if request.htmx and request.GET.get("after"):  # "Show more": just the next tiles
        return render(request, "gallery/home.html#grid-page", {"page": page})
    user_remember_workspace(user=request.user, workspace=membership.workspace)
    if selectors.quota_latest(workspace=membership.workspace) is None:
        quota_refresh_request(workspace=membership.workspace)  # the meter's first report
    context = {"page": page, "sync": selectors.sync_status(workspace=membership.workspace)}
    return render(request, "gallery/home.html", context)


# --- Generate ---------------------------------------------------------------------------------


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
        credential=_credential(membership),
        initial=initial_from_query(request.GET),
    )
    if request.method == "POST" and form.is_valid():
        try:
            job = jobs.job_submit(
                workspace=workspace,
                author=request.user,
                request=form.job_request(),
                idempotency_key=form.cleaned_data["idempotency_key"],
            )
        except jobs.SubmitRefused as exc:
            form.add_error(None, str(exc))
        else:
            if job.error == jobs.WORKERS_UNREACHABLE:
                messages.warning(request, job.error)
            if request.htmx:
                # A fresh form (new idempotency key) keeping the model and options just used.
                kept = {
                    "model": job.model_id,
                    **{k: v for k, v in job.params.items() if k != "extra"},
                }
                fresh = JobForm(models=models, credential=form.credential, initial=kept)
                return render(
                    request, "gallery/generate.html#workbench", _generate_context(membership, fresh)
                )
            return redirect(f"{reverse('gallery:generate', args=[slug])}#job-{job.pk}")
    template = "gallery/generate.html#workbench" if request.htmx else "gallery/generate.html"
    status = 422 if form.errors and not request.htmx else 200
    context = _generate_context(membership, form, catalog_error=catalog_error)
    return render(request, template, context, status=status)


@login_required
@require_GET
def model_options(request: WorkspaceRequest, slug: str) -> HttpResponse:
    """The option fields of the model picked in the form (aspect ratios, formats, count…)."""
    membership = get_membership(request, slug, role=Role.MEMBER)
    kind = JobKind.EDIT if request.GET.get("kind") == JobKind.EDIT else JobKind.TEXT2IMAGE
    form_class = EditForm if kind == JobKind.EDIT else JobForm
    models = selectors.catalog_for(workspace=membership.workspace, kind=kind)
    form = form_class(
        models=models, credential=None, initial={"model": request.GET.get("model", "")}
    )
    return render(request, "gallery/generate.html#model-options", {"form": form})


@login_required
@require_POST
def catalog_refresh(request: WorkspaceRequest, slug: str) -> HttpResponse:
    membership = get_membership(request, slug, role=Role.MEMBER)
    catalog_refresh_request(workspace=membership.workspace, again=True)
    messages.info(request, "Asking the provider for its current models. Reload in a moment.")
    return redirect("gallery:generate", slug=slug)


# --- Jobs -------------------------------------------------------------------------------------


@login_required
@require_GET
def job_card(request: WorkspaceRequest, slug: str, job_id: int) -> HttpResponse:
    membership = get_membership(request, slug)
    job = selectors.job_for_card(job_id=get_job(membership, job_id).pk)
    if not request.htmx:
        return redirect(f"{reverse('gallery:generate', args=[slug])}#job-{job.pk}")
    # The card's last poll: the header meter comes along, and asks again once the quota
    # refresh a finished job sets off has had time to land.
    recheck = None if job.is_active else QUOTA_REFRESH_DEBOUNCE_SECONDS + 3
    context = {"job": job, "meter_recheck_after": recheck}
    return render(request, "gallery/generate.html#job-card", context)


@login_required
@require_POST
def job_cancel(request: WorkspaceRequest, slug: str, job_id: int) -> HttpResponse:
    membership = get_membership(request, slug, role=Role.MEMBER)
    job = get_job(membership, job_id)
    if jobs.job_cancel(job=job, membership=membership):
        messages.success(request, "Job cancelled.")
    else:
        messages.error(
            request, "Too late to cancel: this job's request has already gone to the provider."
        )
    return _back_to_job(request, membership, job)


@login_required
@require_POST
def job_retry(request: WorkspaceRequest, slug: str, job_id: int) -> HttpResponse:
    membership = get_membership(request, slug, role=Role.MEMBER)
    job = get_job(membership, job_id)
    if not job.can_retry:
        messages.error(request, "Only failed or cancelled jobs can be retried.")
        return _back_to_job(request, membership, job)
    key = request.POST.get("idempotency_key") or f"retry-{job.pk}-{request.user.pk}"
    try:
        new = jobs.job_retry(job=job, author=request.user, idempotency_key=key[:64])
    except jobs.SubmitRefused as exc:
        messages.error(request, str(exc))
        return _back_to_job(request, membership, job)
    if new.pk == job.pk:
        messages.success(request, "Downloading the images again. There is no new charge.")
    else:
        messages.success(request, "Started again with the same settings.")
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


# --- Images -----------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def image_detail(request: WorkspaceRequest, slug: str, image_id: int) -> HttpResponse:
    """The image, its lineage and the edit form (POST queues an edit)."""
    membership = get_membership(request, slug)
    image = get_image(membership, image_id)
    models = selectors.catalog_for(workspace=membership.workspace, kind=JobKind.EDIT)
    form = None
    if membership.can_write:
        form = EditForm(
            request.POST or None,
            models=models,
            credential=_credential(membership),
            initial=initial_from_query(request.GET),
        )
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        if form.is_valid():
            try:
                job = jobs.job_submit(
                    workspace=membership.workspace,
                    author=request.user,
                    request=form.job_request(parent_image=image),
                    idempotency_key=form.cleaned_data["idempotency_key"],
                )
            except jobs.SubmitRefused as exc:
                form.add_error(None, str(exc))
            else:
                if job.error == jobs.WORKERS_UNREACHABLE:
                    messages.warning(request, job.error)
                else:
                    messages.success(
                        request, "Edit queued. The new image appears here when it is done."
                    )
                return redirect(f"{reverse('gallery:generate', args=[slug])}#job-{job.pk}")
    context = {
        "image": image,
        "form": form,
        "children": list(image.children.visible().order_by("-created_at")[:12]),
        "can_delete": images.image_can_delete(image=image, membership=membership),
        "file_missing": image.file_missing,
    }
    return render(
        request, "gallery/image_detail.html", context, status=422 if form and form.errors else 200
    )


@login_required
@require_POST
def image_delete(request: WorkspaceRequest, slug: str, image_id: int) -> HttpResponse:
    membership = get_membership(request, slug, role=Role.MEMBER)
    image = get_image(membership, image_id)
    images.image_delete(image=image, membership=membership)
    messages.success(request, "Image deleted.")
    if request.htmx:
        return HttpResponseClientRedirect(reverse("gallery:home", args=[slug]))
    return redirect("gallery:home", slug=slug)


def _serve(field_file: FieldFile, *, download_name: str | None = None) -> FileResponse:
    if not field_file:
        raise Http404("No file")
    try:
        opened = field_file.open("rb")
    except FileNotFoundError:
        raise Http404("The image file is missing from storage") from None
    response = FileResponse(
        opened, as_attachment=download_name is not None, filename=download_name or ""
    )
    # Private to the workspace: browsers may cache it, shared caches must not.
    response["Cache-Control"] = "private, max-age=86400, immutable"
    return response


@login_required
@require_GET
def image_file(request: WorkspaceRequest, slug: str, image_id: int) -> FileResponse:
    membership = get_membership(request, slug)
    image = get_image(membership, image_id)
    name = f"darkroom-{image.pk}.{image.format or 'png'}" if request.GET.get("download") else None
    return _serve(image.file, download_name=name)


@login_required
@require_GET
def image_thumbnail(request: WorkspaceRequest, slug: str, image_id: int) -> FileResponse:
    membership = get_membership(request, slug)
    return _serve(get_image(membership, image_id).thumbnail)


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
