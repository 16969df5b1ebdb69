"""Images: what a job or the provider's history delivered, stored here."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy

from accounts.models import Workspace
from gallery.models.jobs import Job
from gallery.models.review import ReviewState


class ImageSource(models.TextChoices):
    JOB = "job", gettext_lazy("Darkroom")
    HISTORY = "history", gettext_lazy("Provider history")


class ImageQuerySet(models.QuerySet["Image"]):
    def visible(self) -> ImageQuerySet:
        return self.filter(deleted_at__isnull=True)


def _image_path(image: Image, filename: str) -> str:
    return f"images/{image.workspace_id}/{filename}"


class Image(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="images")
    job = models.ForeignKey(
        Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="images"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="images",
    )
    source = models.CharField(max_length=10, choices=ImageSource.choices, default=ImageSource.JOB)
    # The workspace's provider kind when the image was made (a workspace may switch providers).
    provider = models.CharField(max_length=20, blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    prompt = models.TextField(blank=True)
    model_id = models.CharField(max_length=200, blank=True)
    provider_image_id = models.CharField(max_length=200, blank=True)
    # neuroflash's relative output_image_url: what its /edit endpoint accepts.
    provider_url = models.CharField(max_length=500, blank=True)
    file = models.FileField(upload_to=_image_path, blank=True)
    thumbnail = models.FileField(upload_to=_image_path, blank=True)
    width = models.PositiveIntegerField(null=True)
    height = models.PositiveIntegerField(null=True)
    format = models.CharField(max_length=10, blank=True)
    bytes = models.PositiveIntegerField(null=True)
    checksum = models.CharField(
        max_length=64, blank=True, help_text=gettext_lazy("SHA-256 of the original file.")
    )
    # No index of its own: every query of images is for one workspace, which the indexes below
    # start with; a lone created_at index let PostgreSQL page through all workspaces' images
    # and sort (migration 0009).
    created_at = models.DateTimeField(auto_now_add=True)
    # When the provider says it made the image (history entries); None for unknown.
    provider_created_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    # Deleted because a full history sync found it gone at the provider (not by a person here).
    removed_at_provider = models.BooleanField(default=False)
    # Why the file could not be fetched from the provider (history entries); not retried then.
    file_error = models.CharField(max_length=300, blank=True)
    # The team's verdict; each change is recorded as a ReviewEvent.
    review_state = models.CharField(
        max_length=16, choices=ReviewState.choices, default=ReviewState.UNREVIEWED
    )

    objects = ImageQuerySet.as_manager()

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=("workspace", "provider_image_id"),
                condition=~Q(provider_image_id=""),
                name="one_image_per_provider_id",
            )
        ]
        indexes = [
            models.Index(fields=("workspace", "-created_at", "-id"), name="image_ws_created"),
            # Filtered pages ("approved only", one author) stay range scans at any depth.
            models.Index(
                fields=("workspace", "review_state", "-created_at", "-id"), name="image_ws_review"
            ),
            models.Index(
                fields=("workspace", "author", "-created_at", "-id"), name="image_ws_author"
            ),
        ]

    def __str__(self) -> str:
        return f"Image {self.pk}"

    @property
    def reuse_query(self) -> str:
        """The generate page's query string for "Reuse prompt": the prompt, the model and every
        option the image was made with (the form keeps those its model still offers)."""
        made_with = self.job.params if self.job else {}
        options = {
            name: made_with[name]
            for name in ("n", "aspect_ratio", "size", "output_format")
            if made_with.get(name) not in (None, "")
        }
        if "output_format" not in options and self.format:  # a history image: no job
            options["output_format"] = self.format
        return urlencode({"prompt": self.prompt, "model": self.model_id, **options})

    @property
    def file_missing(self) -> bool:
        """The image has a file, but storage no longer holds it (one look at the storage)."""
        return bool(self.file.name) and not self.file.storage.exists(self.file.name or "")
