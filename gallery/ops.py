"""What the operations page shows: the workers and beat as last seen, the queue, recent
failures. A handful of indexed queries and one short look at the broker."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Q
from django.utils import timezone

from config import health
from gallery.models import ACTIVE_STATES, Job, JobState, ProcessHeartbeat
from gallery.services.ops import WORKER_HEARTBEAT_SECONDS

FAILED_WINDOW = dt.timedelta(hours=24)
# A process that has not written its heartbeat for this many intervals is reported silent.
SILENT_AFTER_INTERVALS = 3


def ago(seconds: float) -> str:
    """'8 s', '4 min', '2 h 5 min', '3 days': how long ago, in words a person reads at once."""
    seconds = max(0, int(seconds))
    if seconds < 90:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 90:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} days"


@dataclass(frozen=True)
class ProcessSeen:
    row: ProcessHeartbeat
    state: str  # "running", "silent" or "stopped"
    seen_ago: str
    up_for: str


@dataclass(frozen=True)
class QueueFacts:
    queued: int
    due: int  # queued and due now; the rest wait for a retry
    running: int
    oldest: Job | None
    oldest_age: str
    broker_messages: int | None
    broker_error: str

    @property
    def waiting(self) -> int:
        return self.queued - self.due


@dataclass(frozen=True)
class Overview:
    workers: list[ProcessSeen]
    beat: ProcessSeen | None
    queue: QueueFacts
    failed_recently: int
    checked_at: dt.datetime
    worker_interval: float = WORKER_HEARTBEAT_SECONDS
    silent_after: float = SILENT_AFTER_INTERVALS * WORKER_HEARTBEAT_SECONDS
    beat_interval: float = 0.0


def _seen(row: ProcessHeartbeat, *, interval: float, now: dt.datetime) -> ProcessSeen:
    silent = (now - row.seen_at).total_seconds() > SILENT_AFTER_INTERVALS * interval
    state = "stopped" if row.stopped_at else "silent" if silent else "running"
    return ProcessSeen(
        row=row,
        state=state,
        seen_ago=ago((now - row.seen_at).total_seconds()),
        up_for=ago((row.seen_at - row.started_at).total_seconds()),
    )


def _queue(now: dt.datetime) -> QueueFacts:
    # Through the partial index of active jobs: cheap however many finished jobs there are.
    counts = Job.objects.filter(state__in=ACTIVE_STATES).aggregate(
        queued=Count("pk", filter=Q(state=JobState.QUEUED)),
        due=Count(
            "pk",
            filter=Q(state=JobState.QUEUED)
            & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)),
        ),
        running=Count("pk", filter=Q(state=JobState.RUNNING)),
    )
    oldest = (
        Job.objects.filter(state=JobState.QUEUED)
        .select_related("workspace")
        .order_by("created_at", "pk")
        .first()
    )
    try:
        broker_messages: int | None = health.broker_queue_length()
        broker_error = ""
    except Exception as exc:  # any failure: the page still shows what the database knows
        broker_messages, broker_error = None, health.reason(exc)
    return QueueFacts(
        queued=counts["queued"],
        due=counts["due"],
        running=counts["running"],
        oldest=oldest,
        oldest_age=ago((now - oldest.created_at).total_seconds()) if oldest else "",
        broker_messages=broker_messages,
        broker_error=broker_error,
    )


def ops_overview(*, now: dt.datetime | None = None) -> Overview:
    now = now or timezone.now()
    rows = list(ProcessHeartbeat.objects.all())
    workers = [
        _seen(r, interval=WORKER_HEARTBEAT_SECONDS, now=now)
        for r in rows
        if r.role == ProcessHeartbeat.Role.WORKER
    ]
    beat_row = next((r for r in rows if r.role == ProcessHeartbeat.Role.BEAT), None)
    beat = _seen(beat_row, interval=settings.OPS_BEAT_TICK_SECONDS, now=now) if beat_row else None
    failed = Job.objects.filter(state=JobState.FAILED, finished_at__gte=now - FAILED_WINDOW)
    return Overview(
        workers=sorted(workers, key=lambda w: (w.state != "running", w.row.name)),
        beat=beat,
        queue=_queue(now),
        failed_recently=failed.count(),
        checked_at=now,
        beat_interval=settings.OPS_BEAT_TICK_SECONDS,
    )
