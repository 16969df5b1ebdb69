"""What every log line says about where it comes from: the web request, or the job a worker runs.

Set by `config.middleware.RequestIdMiddleware` and `gallery.services.runner.job_run`; read by
`config.logfilters.LogContext`, which puts them on each record (and so into JSON logs).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
job_id: ContextVar[int | None] = ContextVar("job_id", default=None)

# An id a proxy or load balancer sent is kept when it is short and plain (it ends up in every log
# line and in a response header); anything else is replaced by one of ours.
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")


def request_id_from(incoming: str | None) -> str:
    if incoming and _SAFE_REQUEST_ID.fullmatch(incoming):
        return incoming
    return uuid.uuid4().hex


@contextmanager
def job_context(pk: int) -> Iterator[None]:
    token = job_id.set(pk)
    try:
        yield
    finally:
        job_id.reset(token)
