"""The gallery's bulk bar: one action on the ticked images, or on every image of the filter."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import JsonResponse, QueryDict, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from accounts.access import WorkspaceRequest, get_membership
from accounts.models import Membership
from gallery import selectors
from gallery.access import get_collection
from gallery.filters import GalleryFilter
from gallery.models import Image, ReviewState
from gallery.review_forms import VIEWER_BULK_ACTIONS, BulkForm
from gallery.services import bulk


@login_required
@require_POST
def images_bulk(request: WorkspaceRequest, slug: str) -> HttpResponseBase:
    # Viewers may post here for favourites and downloads; every other action needs a member.
    membership = get_membership(request, slug, viewers_may_post=True)
    action = request.POST.get("action", "")
    if action not in VIEWER_BULK_ACTIONS and not membership.can_write:
        raise PermissionDenied(_("Viewers can favourite and download, but not change images."))
    form = BulkForm(request.POST)
    back = _back_url(request, slug)
    if not form.is_valid():
        errors = [str(e) for field_errors in form.errors.values() for e in field_errors]
        messages.error(request, " ".join(errors))
        return redirect(back)
    data = form.cleaned_data
    if data["scope"] == "filter":
        image_filter, _unused = GalleryFilter.from_query(QueryDict(data["filter"]))
        images = selectors.image_selection(
            workspace=membership.workspace, user=request.user, image_filter=image_filter
        )
    else:
        images = selectors.image_selection(
            workspace=membership.workspace, user=request.user, image_ids=data["image"]
        )
    if action == "download":
        if not images.exclude(file="").exists():
            messages.error(request, _("None of the selected images has a file to download yet."))
            return redirect(back)
        return _zip_response(membership, images)
    if action == "delete" and not request.POST.get("confirmed"):
        # Only a form without JavaScript gets here unconfirmed (bulk.js asks first): ask here.
        context = {"count": images.count(), "fields": _resent_fields(request)}
        return render(request, "gallery/bulk_delete_confirm.html", context)
    try:
        message = _apply(membership, action, images, data)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        messages.success(request, message)
    return redirect(back)


def _resent_fields(request: WorkspaceRequest) -> list[tuple[str, str]]:
    """The selection's fields as posted, to post again once the deletion is confirmed."""
    return [
        (name, value)
        for name, values in request.POST.lists()
        if name not in ("csrfmiddlewaretoken", "confirmed")
        for value in values
    ]


def _apply(
    membership: Membership, action: str, images: QuerySet[Image], data: dict[str, object]
) -> str:
    """Run one bulk action; what happened, in a sentence."""
    if action in ("approve", "reject"):
        to_state = ReviewState.APPROVED if action == "approve" else ReviewState.REJECTED
        result = bulk.bulk_review(
            images=images, membership=membership, to_state=to_state, note=str(data["note"])
        )
        if action == "approve":
            return _sentence(
                ngettext("Approved %(count)s image", "Approved %(count)s images", result.done),
                result,
                already=_("already approved"),
            )
        return _sentence(
            ngettext("Rejected %(count)s image", "Rejected %(count)s images", result.done),
            result,
            already=_("already rejected"),
        )
    if action == "favourite":
        result = bulk.bulk_favourite(images=images, membership=membership)
        return _sentence(
            ngettext(
                "Added to your favourites: %(count)s image",
                "Added to your favourites: %(count)s images",
                result.done,
            ),
            result,
            already=_("already favourites"),
        )
    if action in ("collect", "uncollect"):
        assert isinstance(data["collection"], int)
        collection = get_collection(membership, data["collection"])
        if action == "collect":
            result = bulk.bulk_collect(images=images, membership=membership, collection=collection)
            return _sentence(
                ngettext(
                    "Added to “%(name)s”: %(count)s image",
                    "Added to “%(name)s”: %(count)s images",
                    result.done,
                ),
                result,
                already=_("already in it"),
                name=collection.name,
            )
        result = bulk.bulk_uncollect(images=images, membership=membership, collection=collection)
        return _sentence(
            ngettext(
                "Taken out of “%(name)s”: %(count)s image",
                "Taken out of “%(name)s”: %(count)s images",
                result.done,
            ),
            result,
            already=_("not in it"),
            name=collection.name,
        )
    result = bulk.bulk_delete(images=images, membership=membership)
    return _sentence(
        ngettext("Deleted %(count)s image", "Deleted %(count)s images", result.done),
        result,
        already=_("skipped: only their authors or an admin may delete them"),
    )


def _sentence(done: str, result: bulk.BulkResult, *, already: str, name: str = "") -> str:
    """ "Approved 12 images (3 already approved)." (``done`` has the count's placeholder.)"""
    text = done % {"count": result.done, "name": name}
    if result.skipped:
        text += f" ({result.skipped} {already})"
    return text + "."


def _back_url(request: WorkspaceRequest, slug: str) -> str:
    """Where the bar was: its `next`, if it is a page of this site; else the filtered gallery."""
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return back
    image_filter, _unused = GalleryFilter.from_query(QueryDict(request.POST.get("filter", "")))
    query = image_filter.query_string()
    return reverse("gallery:home", args=[slug]) + (f"?{query}" if query else "")


def _zip_response(membership: Membership, images: QuerySet[Image]) -> StreamingHttpResponse:
    day = timezone.localdate().isoformat()
    name = f"darkroom-{membership.workspace.slug}-{day}.zip"
    names = selectors.catalog_names(workspace=membership.workspace)
    archive = bulk.images_zip(images=images, model_names=names)
    response = StreamingHttpResponse(archive, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def images_bulk_count(request: WorkspaceRequest, slug: str) -> JsonResponse:
    """How many images the gallery filter in the query string holds: asked by the bulk bar only
    when someone has ticked a whole page, so the gallery page itself never counts."""
    membership = get_membership(request, slug)
    image_filter, _unused = GalleryFilter.from_query(request.GET)
    images = selectors.image_selection(
        workspace=membership.workspace, user=request.user, image_filter=image_filter
    )
    return JsonResponse({"count": images.count()})
