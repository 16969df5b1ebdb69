"""One image: its page, its edit form, delete, and its files."""

from __future__ import annotations

import time

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseNotFound
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts.access import WorkspaceRequest, get_membership
from accounts.models import Role
from accounts.selectors import credential_for_workspace
from gallery import selectors
from gallery.access import get_image
from gallery.forms import EditForm, initial_from_query
from gallery.models import JobKind
from gallery.services import images, jobs
from gallery.thumbnails import thumbnail_grant

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
            credential=credential_for_workspace(workspace=membership.workspace),
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


@require_GET
def thumbnail(request: HttpRequest, token: str) -> HttpResponse | FileResponse:
    """A thumbnail by its signed URL (gallery.thumbnails): the signature and the clock are the
    whole check, so this touches neither the session nor the database. Refusals are a bare 404:
    the site's 404 page would load the session to draw its header, for an `<img>` nobody sees."""
    grant = thumbnail_grant(token)
    if grant is None:
        return HttpResponseNotFound("No such thumbnail", content_type="text/plain")
    try:
        opened = default_storage.open(grant.path, "rb")
    except FileNotFoundError:  # the image was deleted, and its files with it
        return HttpResponseNotFound("No such thumbnail", content_type="text/plain")
    response = FileResponse(opened)
    max_age = max(grant.expires - int(time.time()), 0)
    response["Cache-Control"] = f"private, max-age={max_age}, immutable"
    return response


@login_required
@require_GET
def image_thumbnail(request: WorkspaceRequest, slug: str, image_id: int) -> FileResponse:
    membership = get_membership(request, slug)
    return _serve(get_image(membership, image_id).thumbnail)
