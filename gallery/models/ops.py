"""What the operations page knows about the background processes."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy


class ProcessHeartbeat(models.Model):
    """A worker, or beat's schedule, as last seen. A worker writes its row every
    WORKER_HEARTBEAT_SECONDS while it runs (gallery.services.ops); the row named "beat" is
    written by a task that beat sends every BEAT_TICK_SECONDS, so it shows that beat, the broker
    and a worker all work."""

    class Role(models.TextChoices):
        WORKER = "worker", gettext_lazy("Worker")
        BEAT = "beat", gettext_lazy("Beat")

    name = models.CharField(max_length=200, unique=True)
    role = models.CharField(max_length=10, choices=Role.choices)
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField()
    # Set by a warm shutdown; a worker that died without one just falls silent.
    stopped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("role", "name")

    def __str__(self) -> str:
        return f"{self.role} {self.name}"
