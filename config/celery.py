"""The Celery app, and the one way the web tier and the services start background work.

Services send tasks by name (``"gallery.tasks.run_job"``) instead of importing ``*.tasks``: the
tasks import the services, never the reverse, so there is no import cycle to hide in a function.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
from typing import Any

from celery import Celery
from celery.signals import setup_logging, worker_process_init
from django.db import transaction

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("darkroom")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def _log_as_the_web_does(**_: Any) -> None:
    """The worker and beat log through settings.LOGGING, as the web does (LOG_FORMAT, LOG_LEVEL,
    the job id on a job's lines), instead of Celery's own handlers and format."""
    from logging.config import dictConfig

    from django.conf import settings

    dictConfig(settings.LOGGING)


@worker_process_init.connect
def _leave_stopping_to_the_main_process(**_: Any) -> None:
    """Pool children ignore SIGTERM, as Celery already has them ignore SIGINT.

    honcho (`make run`) and systemd signal a worker's whole process group. An idle prefork child
    killed that way can die holding the pool's queue lock, and the main process then waits for
    it until it is SIGKILLed. The main process stops its children itself: a warm shutdown lets
    them finish and exit; a hard time limit uses SIGKILL."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


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
