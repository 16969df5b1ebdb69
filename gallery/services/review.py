"""The team's judgement of images: review states (with their history), favourites, comments.

Viewers may favourite and comment; reviewing needs a member. Each function checks that itself,
so a view, a bulk action and the review queue cannot disagree.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Membership
from gallery.models import NOTE_REQUIRED, Comment, Favourite, Image, ReviewEvent, ReviewState

COMMENT_MAX_LENGTH = 2000

# What a reviewer is asked for when the note a state needs is missing.
NOTE_MISSING = {
    ReviewState.REJECTED: gettext_lazy("Say why it is rejected: the author will read it."),
    ReviewState.NEEDS_CHANGES: gettext_lazy("Say what needs to change: the author will read it."),
}


def review_check(*, membership: Membership, to_state: str, note: str = "") -> str:
    """The rules of every review, of one image or of many at once: a member, a real state, a
    note where one is required. Returns the note, stripped."""
    if not membership.can_write:
        raise PermissionDenied(_("Viewers can look, favourite and comment, but not review."))
    if to_state not in ReviewState.values:
        raise ValidationError(_("“%(to_state)s” is not a review state.") % {"to_state": to_state})
    note = note.strip()
    if to_state in NOTE_REQUIRED and not note:
        raise ValidationError(NOTE_MISSING[ReviewState(to_state)], code="note_required")
    return note


def image_review(
    *, image: Image, membership: Membership, to_state: str, note: str = ""
) -> ReviewEvent | None:
    """Move `image` to `to_state` and record who, when, from, to and why.

    Rejecting and asking for changes need a note (the reason). Returns None when the image is
    already in that state with nothing to add (a double click records nothing).
    """
    note = review_check(membership=membership, to_state=to_state, note=note)
    with transaction.atomic():
        # Locked, so two reviewers at once each record the state they actually changed from.
        current = (
            Image.objects.select_for_update()
            .filter(pk=image.pk)
            .values_list("review_state", flat=True)
        )
        from_state = current.get()
        if from_state == to_state and not note:
            image.review_state = from_state
            return None
        Image.objects.filter(pk=image.pk).update(review_state=to_state)
        event = ReviewEvent.objects.create(
            image=image, actor=membership.user, from_state=from_state, to_state=to_state, note=note
        )
    image.review_state = to_state
    return event


def favourite_set(*, image: Image, membership: Membership, favourite: bool) -> None:
    """Mark or unmark `image` as one of this member's favourites (repeating it changes nothing)."""
    if not favourite:
        Favourite.objects.filter(image=image, user=membership.user).delete()
        return
    try:
        with transaction.atomic():
            Favourite.objects.create(image=image, user=membership.user)
    except IntegrityError:
        pass  # already a favourite


def comment_add(*, image: Image, membership: Membership, body: str) -> Comment:
    body = body.strip()
    if not body:
        raise ValidationError(_("Write something first."))
    if len(body) > COMMENT_MAX_LENGTH:
        raise ValidationError(
            _("Keep it under %(COMMENT_MAX_LENGTH)s characters (%(value)s now).")
            % {"COMMENT_MAX_LENGTH": COMMENT_MAX_LENGTH, "value": len(body)}
        )
    return Comment.objects.create(image=image, author=membership.user, body=body)


def comment_can_delete(*, comment: Comment, membership: Membership) -> bool:
    return membership.is_admin or comment.author_id == membership.user_id


def comment_delete(*, comment: Comment, membership: Membership) -> None:
    if not comment_can_delete(comment=comment, membership=membership):
        raise PermissionDenied(_("Only the person who wrote a comment or an admin can delete it."))
    comment.delete()
