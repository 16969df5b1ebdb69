"""Judging one image on its page or lightbox: review state, comments, favourite.

Each view binds its form, calls one service and answers htmx with the part of the page it
changed; without JavaScript it redirects back to the image's page (keeping the gallery filter),
or shows that page again with the error next to its field.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from accounts.access import WorkspaceRequest, get_membership
from accounts.models import Role
from gallery.access import get_comment, get_image
from gallery.models import ReviewState
from gallery.review_forms import CommentForm, FavouriteForm, ReviewForm
from gallery.services import review
from gallery.views.images import (
    comments_context,
    detail_url,
    filter_of,
    render_detail,
    review_context,
)

TEMPLATE = "gallery/image_detail.html"


@login_required
@require_POST
def image_review(request: WorkspaceRequest, slug: str, image_id: int) -> HttpResponse:
    membership = get_membership(request, slug, role=Role.MEMBER)
    image = get_image(membership, image_id)
    form = ReviewForm(request.POST)
    if form.is_valid():
        try:
            event = review.image_review(
                image=image,
                membership=membership,
                to_state=form.cleaned_data["state"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as exc:
            form.add_error("note", exc)
        else:
            if event is not None:
                messages.success(
                    request,
                    _("Marked %(value)s.") % {"value": ReviewState(event.to_state).label.lower()},
                )
            if request.htmx:
                return render(request, f"{TEMPLATE}#review", review_context(request, image))
            return redirect(detail_url(slug, image.pk, filter_of(request)))
    if request.htmx:
        return render(request, f"{TEMPLATE}#review", review_context(request, image, form))
    return render_detail(request, membership, image, review_form=form)


@login_required
@require_POST
def comment_add(request: WorkspaceRequest, slug: str, image_id: int) -> HttpResponse:
    membership = get_membership(request, slug, viewers_may_post=True)
    image = get_image(membership, image_id)
    form = CommentForm(request.POST)
    if form.is_valid():
        try:
            comment = review.comment_add(
                image=image, membership=membership, body=form.cleaned_data["body"]
            )
        except ValidationError as exc:
            form.add_error("body", exc)
        else:
            if request.htmx:
                return render(
                    request, f"{TEMPLATE}#comments", comments_context(request, membership, image)
                )
            back = detail_url(slug, image.pk, filter_of(request))
            return redirect(f"{back}#comment-{comment.pk}")
    if request.htmx:
        context = comments_context(request, membership, image, form)
        return render(request, f"{TEMPLATE}#comments", context)
    return render_detail(request, membership, image, comment_form=form)


@login_required
@require_POST
def comment_delete(
    request: WorkspaceRequest, slug: str, image_id: int, comment_id: int
) -> HttpResponse:
    membership = get_membership(request, slug, viewers_may_post=True)
    image = get_image(membership, image_id)
    review.comment_delete(comment=get_comment(image, comment_id), membership=membership)
    messages.success(request, _("Comment deleted."))
    if request.htmx:
        return render(request, f"{TEMPLATE}#comments", comments_context(request, membership, image))
    return redirect(f"{detail_url(slug, image.pk, filter_of(request))}#comments")


@login_required
@require_POST
def image_favourite(request: WorkspaceRequest, slug: str, image_id: int) -> HttpResponse:
    membership = get_membership(request, slug, viewers_may_post=True)
    image = get_image(membership, image_id)
    form = FavouriteForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest("Send favourite=1 to mark the image, favourite=0 to unmark.")
    favourite = form.cleaned_data["favourite"]
    review.favourite_set(image=image, membership=membership, favourite=favourite)
    if request.htmx:
        query = filter_of(request).query_string()
        context = {"image": image, "is_favourite": favourite, "filter_query": query}
        return render(request, f"{TEMPLATE}#favourite", context)
    return redirect(detail_url(slug, image.pk, filter_of(request)))
