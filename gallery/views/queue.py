"""The review queue: the current filter's images one at a time, judged with the keyboard."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import push_url

from accounts.access import WorkspaceRequest, get_membership
from accounts.models import Membership, Role
from gallery import selectors
from gallery.access import get_image
from gallery.filters import GalleryFilter
from gallery.models import Favourite, Image, ReviewState
from gallery.review_forms import QUEUE_ACTIONS, QueueActionForm
from gallery.services.review import favourite_set, image_review

PAGE = "gallery/review_queue.html"
DONE = {
    ReviewState.APPROVED: gettext_lazy("Approved"),
    ReviewState.REJECTED: gettext_lazy("Rejected"),
    ReviewState.NEEDS_CHANGES: gettext_lazy("Changes asked for"),
}


# The queue's heading, a whole phrase each (German declines the adjective: „Ungeprüfte Bilder“).
QUEUE_SUBJECTS = {
    ReviewState.UNREVIEWED: gettext_lazy("Unreviewed images"),
    ReviewState.APPROVED: gettext_lazy("Approved images"),
    ReviewState.REJECTED: gettext_lazy("Rejected images"),
    ReviewState.NEEDS_CHANGES: gettext_lazy("Images that need changes"),
}


def queue_subject(image_filter: GalleryFilter) -> str:
    """What the queue walks through, in words: "Unreviewed images", "All images in this
    filter"."""
    if image_filter.review:
        return str(QUEUE_SUBJECTS.get(ReviewState(image_filter.review), _("All images")))
    return _("All images") if image_filter.is_empty else _("All images in this filter")


# The actions that need a note: (action, button, key, the note field's label).
NOTE_ACTIONS = (
    ("reject", gettext_lazy("Reject"), "r", gettext_lazy("Reason for rejecting")),
    ("needs_changes", gettext_lazy("Needs changes"), "n", gettext_lazy("What needs to change")),
)


def queue_filter(query: QueryDict) -> GalleryFilter:
    """The gallery filter in `query`; with no review state named, the unreviewed images (an
    explicit empty `review=` means any state)."""
    if "review" not in query:
        query = query.copy()
        query["review"] = ReviewState.UNREVIEWED
    image_filter, _ = GalleryFilter.from_query(query)
    return image_filter


def queue_query(image_filter: GalleryFilter, **changes: object) -> str:
    """The queue's query string for `image_filter`; keeps "any review state" as `review=`."""
    query = image_filter.query_string(**changes)
    if not image_filter.review:
        query = f"{query}&review=" if query else "review="
    return query


def _context(
    membership: Membership,
    image_filter: GalleryFilter,
    at: int | None,
    *,
    status: str = "",
    note_errors: dict[str, str] | None = None,
) -> dict[str, object]:
    item = selectors.review_queue_item(
        workspace=membership.workspace, user=membership.user, image_filter=image_filter, at=at
    )
    return {
        "item": item,
        "filter": image_filter,
        "query": queue_query(image_filter),
        "subject": queue_subject(image_filter),
        "note_actions": NOTE_ACTIONS,
        "status": status,
        "note_errors": note_errors or {},
    }


def _at(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


@login_required
@require_GET
def review_queue(request: WorkspaceRequest, slug: str) -> HttpResponse:
    membership = get_membership(request, slug, role=Role.MEMBER)
    image_filter = queue_filter(request.GET)
    context = _context(membership, image_filter, _at(request.GET.get("at")))
    if request.htmx:  # ← → swap just the image
        return render(request, f"{PAGE}#queue-item", context)
    return render(request, PAGE, context)


@login_required
@require_POST
def review_queue_act(request: WorkspaceRequest, slug: str, image_id: int) -> HttpResponse:
    """Judge (or favourite) one image of the queue, then show the next one."""
    membership = get_membership(request, slug, role=Role.MEMBER)
    image = get_image(membership, image_id)
    form = QueueActionForm(request.POST)
    form.is_valid()
    data = form.cleaned_data
    image_filter = queue_filter(QueryDict(data.get("filter", "")))
    action = data.get("action", "")
    show: Image | None = image
    status = ""
    note_errors: dict[str, str] = {}
    if action == "favourite":
        now = not Favourite.objects.filter(image=image, user=request.user).exists()
        favourite_set(image=image, membership=membership, favourite=now)
        status = _("Added to your favourites") if now else _("Removed from your favourites")
    elif action in QUEUE_ACTIONS:
        to_state = QUEUE_ACTIONS[action]
        try:
            image_review(
                image=image, membership=membership, to_state=to_state, note=data.get("note", "")
            )
        except ValidationError as exc:
            note_errors[action] = exc.messages[0]
        else:
            show = selectors.review_queue_next(
                workspace=membership.workspace,
                user=request.user,
                image_filter=image_filter,
                after=image,
            )
            status = str(DONE[ReviewState(to_state)])
    at = show.pk if show else None
    context = _context(membership, image_filter, at, status=status, note_errors=note_errors)
    item = context["item"]
    assert isinstance(item, selectors.QueueItem)
    if status:
        if item.left:
            status = _("%(status)s — %(left)s left") % {"status": status, "left": item.left}
        else:
            status = _("%(status)s — all done") % {"status": status}
        context["status"] = status
    query = queue_query(image_filter)
    url = reverse("gallery:review_queue", args=[slug])
    url = f"{url}?{query}&at={at}" if at else f"{url}?{query}"
    if request.htmx:
        # The address follows the image shown, so a reload or a shared link lands on it.
        return push_url(render(request, f"{PAGE}#queue-item", context), url)
    if note_errors:
        messages.error(request, next(iter(note_errors.values())))
    elif status:
        messages.success(request, status)
    return redirect(url)
