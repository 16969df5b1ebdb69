"""The Celery app, and the one way the web tier and the services start background work.

Services send tasks by name (``"gallery.tasks.run_job"``) instead of importing ``*.tasks``: the
tasks import the services, never the reverse, so there is no import cycle to hide in a function.
"""

from __future__ import annotations

import datetime as dt
import os

from celery import Celery
from django.db import transaction

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("darkroom")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def send_task(
    name: str,
    *args: object,
    eta: dt.datetime | None = None,
    countdown: float | None = None,
) -> None:
    """Put a message for the task ``name`` on the broker now.

    Raises the broker's errors (kombu's OperationalError, OSError) when it cannot be reached.
    """
    app.send_task(name, args=args, eta=eta, countdown=countdown)


def send_task_on_commit(name: str, *args: object, countdown: float | None = None) -> None:
    """Send the task once the current transaction commits (at once outside a transaction), so a
    worker never looks for a row that is not there yet."""
    transaction.on_commit(lambda: send_task(name, *args, countdown=countdown))
