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


class OneLineForRefusals(logging.Filter):
    """A refused request (403, 404 and the like, raised as an exception) is routine: one line
    with the reason, not a traceback. Server errors (5xx) keep theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if record.exc_info and isinstance(status, int) and status < 500:
            reason = record.exc_info[1]
            message = record.getMessage()
            record.msg = f"{message}: {reason}" if reason and str(reason) else message
            record.args = ()
            record.exc_info = record.exc_text = None
        return True


class QuietBrokerHostname(logging.Filter):
    """kombu warns "No hostname was supplied" on every connection of the filesystem broker,
    which has no host to supply."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("No hostname was supplied.")
