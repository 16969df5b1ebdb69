"""Reads for reviewing: an image's review history, comments and favourites, the review queue."""

from __future__ import annotations

from dataclasses import dataclass

from accounts.models import User, Workspace
from gallery.filters import GalleryFilter
from gallery.models import (
    Comment,
    Favourite,
    Image,
    ReviewEvent,
)
from gallery.selectors.images import image_neighbours


def image_review_history(*, image: Image) -> list[ReviewEvent]:
    """Every change of the image's review state, newest first, with who made it."""
    return list(image.review_events.select_related("actor"))


def image_comments(*, image: Image) -> list[Comment]:
    return list(image.comments.select_related("author"))


def image_is_favourite(*, image: Image, user: User) -> bool:
    return Favourite.objects.filter(image=image, user=user).exists()


@dataclass(frozen=True)
class QueueItem:
    image: Image | None
    previous: Image | None
    next: Image | None
    left: int


def review_queue_item(
    *, workspace: Workspace, user: User, image_filter: GalleryFilter, at: int | None = None
) -> QueueItem:
    """The review queue at image `at` (or its first image): the image with prompt, author and
    `is_favourite`, its neighbours in the filter's order and how many images the filter holds."""
    images = image_filter.images(workspace=workspace, user=user).select_related("author")
    order = ("-created_at", "-id") if image_filter.newest_first else ("created_at", "id")
    image = images.filter(pk=at).first() if at else None
    if image is None:
        image = images.order_by(*order).first()
    if image is None:
        return QueueItem(None, None, None, 0)
    image.workspace = workspace  # known: no query for it
    previous, following = image_neighbours(image=image, user=user, image_filter=image_filter)
    return QueueItem(image, previous, following, images.count())


def review_queue_next(
    *, workspace: Workspace, user: User, image_filter: GalleryFilter, after: Image
) -> Image | None:
    """The image to show once `after` is judged: the one after it in the filter's order (which
    `after` may have just left), else the first still waiting, else none."""
    _, following = image_neighbours(image=after, user=user, image_filter=image_filter)
    if following is not None:
        return following
    order = ("-created_at", "-id") if image_filter.newest_first else ("created_at", "id")
    images = image_filter.images(workspace=workspace, user=user).exclude(pk=after.pk)
    return images.order_by(*order).first()


def favourite_ids(*, user: User, images: list[Image]) -> set[int]:
    """Which of `images` are `user`'s favourites (one query)."""
    return set(
        Favourite.objects.filter(user=user, image__in=images).values_list("image_id", flat=True)
    )
