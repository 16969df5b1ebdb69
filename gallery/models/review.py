"""How the team judges and organises images: review states and their history, comments,
favourites and collections."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy

from accounts.models import Workspace


class ReviewState(models.TextChoices):
    UNREVIEWED = "unreviewed", gettext_lazy("Unreviewed")
    APPROVED = "approved", gettext_lazy("Approved")
    REJECTED = "rejected", gettext_lazy("Rejected")
    NEEDS_CHANGES = "needs_changes", gettext_lazy("Needs changes")


# States a person must say why for (the reason is the review's note).
NOTE_REQUIRED = frozenset({ReviewState.REJECTED, ReviewState.NEEDS_CHANGES})


class ReviewEvent(models.Model):
    """One change of an image's review state: who, when, from, to and why. Never edited."""

    image = models.ForeignKey(
        "gallery.Image", on_delete=models.CASCADE, related_name="review_events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    from_state = models.CharField(max_length=16, choices=ReviewState.choices)
    to_state = models.CharField(max_length=16, choices=ReviewState.choices)
    note = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at", "-id")
        indexes = [models.Index(fields=("image", "-created_at"), name="review_event_image")]

    def __str__(self) -> str:
        return f"{self.image_id}: {self.from_state} → {self.to_state}"


class Comment(models.Model):
    image = models.ForeignKey("gallery.Image", on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("created_at", "id")
        indexes = [models.Index(fields=("image", "created_at"), name="comment_image")]

    def __str__(self) -> str:
        return f"Comment {self.pk} on {self.image_id}"


class Favourite(models.Model):
    """One member's favourite: personal, so each member has their own set."""

    image = models.ForeignKey("gallery.Image", on_delete=models.CASCADE, related_name="favourites")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="favourites"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=("user", "image"), name="one_favourite_per_user_image")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} ♥ {self.image_id}"


class Collection(models.Model):
    """A team's board ("Spring campaign"): any images of the workspace, each in several."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="collections")
    name = models.CharField(max_length=100)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    images = models.ManyToManyField(
        "gallery.Image", through="CollectionItem", related_name="collections"
    )

    class Meta:
        ordering = (Lower("name"), "id")
        constraints = [
            models.UniqueConstraint(
                Lower("name"), "workspace", name="one_collection_name_per_workspace"
            )
        ]

    def __str__(self) -> str:
        return self.name


class CollectionItem(models.Model):
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="items")
    image = models.ForeignKey(
        "gallery.Image", on_delete=models.CASCADE, related_name="collection_items"
    )
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=("collection", "image"), name="one_item_per_image")
        ]

    def __str__(self) -> str:
        return f"{self.image_id} in {self.collection_id}"
