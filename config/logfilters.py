"""Logging filters and formatters referenced from LOGGING in settings."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Mapping

from config import logcontext

# The jobs' recovery tick runs every few seconds (beat's own tick for the operations page
# every half minute); Celery would log three lines each time
# (sent, received, succeeded). What the tick finds worth saying, it logs itself.
QUIET_TASKS = (
    "gallery.tasks.recover_jobs",
    "gallery.tasks.record_beat",
    "gallery.tasks.resend_webhooks",
)


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


class LogContext(logging.Filter):
    """Put the request id and the job id (config.logcontext) on every record, for the
    formatters. Attached to the handler, so it sees every logger's records."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.__dict__.setdefault("request_id", logcontext.request_id.get())
        record.__dict__.setdefault("job_id", logcontext.job_id.get())
        return True


def _context_tag(record: logging.LogRecord) -> str:
    request_id, job_id = getattr(record, "request_id", None), getattr(record, "job_id", None)
    parts = []
    if request_id:
        parts.append(f"request={request_id}")
    if job_id is not None:
        parts.append(f"job={job_id}")
    return f" [{' '.join(parts)}]" if parts else ""


class PlainFormatter(logging.Formatter):
    """The human format, with the request or job id after the message."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return super().formatMessage(record) + _context_tag(record)


# Attributes every LogRecord has; anything else on a record came from `extra=` and is logged.
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, the request or job id, the
    exception (class and traceback) and any `extra` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and value is not None:
                entry[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            entry["error_class"] = record.exc_info[0].__name__
            entry["traceback"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["traceback"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class GunicornAccessJsonFormatter(JsonFormatter):
    """gunicorn's access lines as JSON objects with the request's fields (gunicorn passes its
    log atoms as the record's arguments), for `LOG_FORMAT=json` (config/gunicorn.py)."""

    FIELDS = {
        "remote": "h",
        "method": "m",
        "path": "U",
        "query": "q",
        "status": "s",
        "bytes": "B",
        "duration_ms": "M",
        "user_agent": "a",
        "request_id": "{x-request-id}o",
    }

    def format(self, record: logging.LogRecord) -> str:
        atoms = record.args
        if not isinstance(atoms, Mapping):
            return super().format(record)
        entry: dict[str, object] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": f"{atoms.get('m', '-')} {atoms.get('U', '-')} {atoms.get('s', '-')}",
        }
        for field, atom in self.FIELDS.items():
            value = atoms.get(atom)
            if value not in (None, "-", ""):
                entry[field] = value
        return json.dumps(entry, default=str, ensure_ascii=False)
