"""Runs of the provider-history mirror."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy

from accounts.models import Workspace


class HistorySync(models.Model):
    """One run of the history mirror for a workspace, with its progress as it goes."""

    class Mode(models.TextChoices):
        INCREMENTAL = "incremental", gettext_lazy("Incremental")
        FULL = "full", gettext_lazy("Full")

    class State(models.TextChoices):
        QUEUED = "queued", gettext_lazy("Queued")
        RUNNING = "running", gettext_lazy("Syncing")
        OK = "ok", gettext_lazy("Done")
        FAILED = "failed", gettext_lazy("Failed")
        SKIPPED = "skipped", gettext_lazy("Skipped")

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="history_syncs")
    mode = models.CharField(max_length=12, choices=Mode.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    pages_fetched = models.PositiveIntegerField(default=0)
    entries_seen = models.PositiveIntegerField(default=0)
    entries_new = models.PositiveIntegerField(default=0)
    entries_updated = models.PositiveIntegerField(default=0)
    entries_removed = models.PositiveIntegerField(default=0)
    # Images of the provider's history shown in the gallery when this run ended: counted once
    # per run, so no page view counts the whole table.
    images_mirrored = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            # The lock: at most one running sync per workspace, enforced by the database.
            models.UniqueConstraint(
                fields=("workspace",),
                condition=Q(state="running"),
                name="one_running_sync_per_workspace",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_mode_display()} sync of {self.workspace_id} ({self.state})"

    @property
    def is_pending(self) -> bool:
        return self.state in (self.State.QUEUED, self.State.RUNNING)
