"""Logging filters referenced from LOGGING in settings."""

from __future__ import annotations

import logging

# The jobs' recovery tick runs every few seconds; Celery would log three lines each time
# (sent, received, succeeded). What the tick finds worth saying, it logs itself.
QUIET_TASKS = ("gallery.tasks.recover_jobs",)


class QuietRoutineTasks(logging.Filter):
    """Drop Celery's routine INFO lines about QUIET_TASKS; keep warnings and errors."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno > logging.INFO:
            return True
        message = record.getMessage()
        return not any(task in message for task in QUIET_TASKS)
