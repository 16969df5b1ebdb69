"""One image: its page, its edit form, delete, and its files."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.db.models.fields.files import FieldFile
from django.http import (
    FileResponse,
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseNotFound,
    HttpResponseRedirect,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts.access import WorkspaceRequest, get_membership
from accounts.models import Membership, Role
from accounts.selectors import credential_for_workspace
from config.storage import OBJECT_CACHE_CONTROL
from gallery import selectors
from gallery.access import get_image
from gallery.filters import GalleryFilter
from gallery.forms import EditForm, initial_from_query
from gallery.models import Image, JobKind
from gallery.review_forms import CommentForm, ReviewForm
from gallery.services import images, review
from gallery.thumbnails import thumbnail_grant
from gallery.views.generate import submit_from_form

if TYPE_CHECKING:
    from storages.backends.s3 import S3Storage

# --- Images -----------------------------------------------------------------------------------


def in_lightbox(request: WorkspaceRequest) -> bool:
    """The gallery asked for the image inside its lightbox (`hx-target="#lightbox"`)."""
    return bool(request.htmx) and request.htmx.target == "lightbox"


def filter_of(request: WorkspaceRequest) -> GalleryFilter:
    """The gallery filter the image was opened from (its page keeps it in the query string)."""
    image_filter, _ = GalleryFilter.from_query(request.GET)
    return image_filter


def detail_url(slug: str, image_id: int, image_filter: GalleryFilter) -> str:
    query = image_filter.query_string()
    return reverse("gallery:image_detail", args=[slug, image_id]) + (f"?{query}" if query else "")


def review_context(
    request: WorkspaceRequest, image: Image, form: ReviewForm | None = None
) -> dict[str, object]:
    return {
        "image": image,
        "filter_query": filter_of(request).query_string(),
        "review_form": form or ReviewForm(),
        "history": selectors.image_review_history(image=image),
    }


def comments_context(
    request: WorkspaceRequest,
    membership: Membership,
    image: Image,
    form: CommentForm | None = None,
) -> dict[str, object]:
    comments = selectors.image_comments(image=image)
    return {
        "image": image,
        "filter_query": filter_of(request).query_string(),
        "comment_form": form or CommentForm(),
        "comments": comments,
        "deletable_comments": {
            c.pk for c in comments if review.comment_can_delete(comment=c, membership=membership)
        },
    }


def detail_context(
    request: WorkspaceRequest,
    membership: Membership,
    image: Image,
    *,
    edit_form: EditForm | None = None,
    review_form: ReviewForm | None = None,
    comment_form: CommentForm | None = None,
    confirm_delete: bool = False,
) -> dict[str, object]:
    """Everything the image's page and lightbox show, in a fixed number of queries."""
    image_filter = filter_of(request)
    before, after = selectors.image_neighbours(
        image=image, user=request.user, image_filter=image_filter
    )
    return {
        "form": edit_form,
        "filter_query": image_filter.query_string(),
        "before": before,
        "after": after,
        "lineage": selectors.image_lineage(image=image),
        "parameters": selectors.job_parameters(image.job),
        "is_favourite": selectors.image_is_favourite(image=image, user=request.user),
        "can_delete": images.image_can_delete(image=image, membership=membership),
        "file_missing": image.file_missing,
        "in_lightbox": in_lightbox(request),
        "confirm_delete": confirm_delete,
        **review_context(request, image, review_form),
        **comments_context(request, membership, image, comment_form),
    }


def render_detail(
    request: WorkspaceRequest,
    membership: Membership,
    image: Image,
    *,
    edit_form: EditForm | None = None,
    review_form: ReviewForm | None = None,
    comment_form: CommentForm | None = None,
    confirm_delete: bool = False,
) -> HttpResponse:
    """The image's page, or its lightbox for the gallery; 422 when a form on it has errors."""
    forms = (edit_form, review_form, comment_form)
    context = detail_context(
        request,
        membership,
        image,
        edit_form=edit_form,
        review_form=review_form,
        comment_form=comment_form,
        confirm_delete=confirm_delete,
    )
    invalid = any(form is not None and form.errors for form in forms)
    if in_lightbox(request):
        return render(request, "gallery/image_detail.html#lightbox", context)
    return render(request, "gallery/image_detail.html", context, status=422 if invalid else 200)


@login_required
@require_http_methods(["GET", "POST"])
def image_detail(request: WorkspaceRequest, slug: str, image_id: int) -> HttpResponse:
    """The image, its facts, lineage, review and comments, and the edit form (POST queues an
    edit). Asked for by the gallery's lightbox, the same without the page around it."""
    membership = get_membership(request, slug)
    image = get_image(membership, image_id)
    form = None
    if membership.can_write and not in_lightbox(request):
        form = EditForm(
            request.POST or None,
            models=selectors.catalog_for(workspace=membership.workspace, kind=JobKind.EDIT),
            credential=credential_for_workspace(workspace=membership.workspace),
            initial=initial_from_query(request.GET),
        )
    if request.method == "POST":
        if form is None:
            raise PermissionDenied
        if form.is_valid():
            job = submit_from_form(
                request,
                form,
                workspace=membership.workspace,
                job_request=form.job_request(parent_image=image),
            )
            if job is not None:
                if not job.error:
                    messages.success(
                        request, _("Edit queued. The new image appears here when it is done.")
                    )
                return redirect(f"{reverse('gallery:generate', args=[slug])}#job-{job.pk}")
    return render_detail(request, membership, image, edit_form=form)


@login_required
@require_POST
def image_delete(request: WorkspaceRequest, slug: str, image_id: int) -> HttpResponse:
    membership = get_membership(request, slug, role=Role.MEMBER)
    image = get_image(membership, image_id)
    if not request.POST.get("confirmed"):
        # Only a form without JavaScript gets here unconfirmed (htmx asks first, then sends
        # `confirmed`): the image's page asks the question instead.
        if not images.image_can_delete(image=image, membership=membership):
            raise PermissionDenied
        return render_detail(request, membership, image, confirm_delete=True)
    images.image_delete(image=image, membership=membership)
    messages.success(request, _("Image deleted."))
    query = filter_of(request).query_string()  # back to the gallery it was opened from
    gallery = reverse("gallery:home", args=[slug]) + (f"?{query}" if query else "")
    if request.htmx:
        return HttpResponseClientRedirect(gallery)
    return redirect(gallery)


def serve_file(field_file: FieldFile, *, download_name: str | None = None) -> HttpResponseBase:
    """The file of a member's image: from the disk, or a redirect to a presigned URL."""
    if not field_file:
        raise Http404(_("No file"))
    if settings.MEDIA_STORAGE == "s3":
        return _presigned_redirect(
            field_file.storage, field_file.name or "", download_name=download_name
        )
    try:
        opened = field_file.open("rb")
    except FileNotFoundError:
        raise Http404(_("The image file is missing from storage")) from None
    response = FileResponse(
        opened, as_attachment=download_name is not None, filename=download_name or ""
    )
    # Private to the workspace: browsers may cache it, shared caches must not.
    response["Cache-Control"] = OBJECT_CACHE_CONTROL
    return response


def _presigned_redirect(
    storage: S3Storage, name: str, *, download_name: str | None = None, max_age: int | None = None
) -> HttpResponse:
    """A redirect to a presigned URL of `name` in the bucket. The bucket answers 404 itself for
    an object that is gone: asking first would cost a round trip on every image.

    The browser may keep the redirect (privately) for half the URL's life, so a thumbnail seen
    again soon reuses the same URL, and with it the image it cached."""
    parameters = None
    if download_name is not None:
        disposition = content_disposition_header(as_attachment=True, filename=download_name)
        parameters = {"ResponseContentDisposition": disposition}
    lifetime = settings.S3_PRESIGN_SECONDS
    response = HttpResponseRedirect(storage.url(name, parameters=parameters, expire=lifetime))
    cacheable = lifetime // 2 if max_age is None else min(max_age, lifetime // 2)
    response["Cache-Control"] = f"private, max-age={cacheable}"
    return response


@login_required
@require_GET
def image_file(request: WorkspaceRequest, slug: str, image_id: int) -> HttpResponseBase:
    membership = get_membership(request, slug)
    image = get_image(membership, image_id)
    name = f"darkroom-{image.pk}.{image.format or 'png'}" if request.GET.get("download") else None
    return serve_file(image.file, download_name=name)


@require_GET
def thumbnail(request: HttpRequest, token: str) -> HttpResponseBase:
    """A thumbnail by its signed URL (gallery.thumbnails): the signature and the clock are the
    whole check, so this touches neither the session nor the database. Refusals are a bare 404:
    the site's 404 page would load the session to draw its header, for an `<img>` nobody sees.
    With object storage it answers with a redirect to a presigned URL (presigning is local
    arithmetic, no call to the bucket)."""
    grant = thumbnail_grant(token)
    if grant is None:
        return HttpResponseNotFound("No such thumbnail", content_type="text/plain")
    max_age = max(grant.expires - int(time.time()), 0)
    if settings.MEDIA_STORAGE == "s3":
        return _presigned_redirect(default_storage, grant.path, max_age=max_age)
    try:
        opened = default_storage.open(grant.path, "rb")
    except FileNotFoundError:  # the image was deleted, and its files with it
        return HttpResponseNotFound("No such thumbnail", content_type="text/plain")
    response = FileResponse(opened)
    response["Cache-Control"] = f"private, max-age={max_age}, immutable"
    return response


@login_required
@require_GET
def image_thumbnail(request: WorkspaceRequest, slug: str, image_id: int) -> HttpResponseBase:
    membership = get_membership(request, slug)
    return serve_file(get_image(membership, image_id).thumbnail)
