"""Comparisons: one prompt sent to several models at once, each model's request an ordinary job."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from accounts.models import Workspace


class Comparison(models.Model):
    """A prompt compared across models. Its results are its jobs (`Job.comparison`), so each is
    queued, reserved, run, reviewed and shown in the gallery like any other job."""

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="comparisons")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="comparisons"
    )
    prompt = models.TextField()
    # A double click sends the same key and finds this comparison; each job's own key is
    # derived from it (`gallery.services.comparisons.job_key`).
    idempotency_key = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=("workspace", "author", "idempotency_key"),
                name="one_comparison_per_author_idempotency_key",
            )
        ]
        indexes = [models.Index(fields=("workspace", "-id"), name="comparison_ws_newest")]

    def __str__(self) -> str:
        return f"Comparison {self.pk}"
