"""Heartbeats of the background processes, for the operations page (gallery.ops reads them)."""

from __future__ import annotations

import datetime as dt
import logging
import threading

from django.db import DatabaseError, connections
from django.utils import timezone

from gallery.models import ProcessHeartbeat

logger = logging.getLogger(__name__)

# How often a running worker writes its heartbeat (beat's tick: settings.OPS_BEAT_TICK_SECONDS).
WORKER_HEARTBEAT_SECONDS = 15.0
BEAT_ROW = "beat"
# Rows of workers gone this long (renamed machines, old containers) are deleted by the tick.
FORGET_AFTER = dt.timedelta(days=7)


def heartbeat_write(*, name: str, role: str, now: dt.datetime) -> None:
    """One UPDATE while the process runs; the first beat of a (re)started one creates or
    restarts the row."""
    if ProcessHeartbeat.objects.filter(name=name, stopped_at=None).update(seen_at=now, role=role):
        return
    ProcessHeartbeat.objects.update_or_create(
        name=name, defaults={"role": role, "started_at": now, "seen_at": now, "stopped_at": None}
    )


def heartbeat_stop(*, name: str, now: dt.datetime) -> None:
    ProcessHeartbeat.objects.filter(name=name).update(seen_at=now, stopped_at=now)


def beat_tick(*, now: dt.datetime) -> None:
    """What beat's scheduled tick records: that it ran, and when."""
    heartbeat_write(name=BEAT_ROW, role=ProcessHeartbeat.Role.BEAT, now=now)
    ProcessHeartbeat.objects.filter(seen_at__lt=now - FORGET_AFTER).delete()


class WorkerHeartbeat:
    """A thread in a worker's main process that writes its heartbeat until stopped."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ops-heartbeat", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        try:
            heartbeat_stop(name=self.name, now=timezone.now())
        except DatabaseError as exc:
            logger.warning("Worker %s: could not record its stop (%s)", self.name, exc)
        finally:
            connections.close_all()

    def _run(self) -> None:
        try:
            while True:
                try:
                    heartbeat_write(
                        name=self.name, role=ProcessHeartbeat.Role.WORKER, now=timezone.now()
                    )
                except DatabaseError as exc:  # a blip: the next beat tries again
                    logger.warning("Worker %s: heartbeat not written (%s)", self.name, exc)
                if self._stop.wait(WORKER_HEARTBEAT_SECONDS):
                    return
        finally:
            connections.close_all()  # this thread's own connection
