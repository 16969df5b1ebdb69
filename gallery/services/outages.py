"""Riding out a brief database outage in a worker: the step is tried again, the job goes on.

A worker's database steps (the claim, each stage transition, storing the images' rows) go
through ``database_retry``: when the database cannot be reached (Django's ``OperationalError``
or ``InterfaceError``: refused, reset, restarted, a failover) the broken connection is closed,
the worker waits (0.25 s, doubling, at most 5 s between tries) and runs the same step again, for
up to JOB_DATABASE_RETRY_SECONDS.

Why a retry around each step rather than Celery's ``autoretry_for`` on the task: the step that
matters most is recording a provider's answer (``mark_paid``) right after the provider was paid.
Only this process holds that answer; a task retried by Celery would start over, find the job at
stage CALLED and have to reconcile with the provider's history (NanoGPT has none: the job would
end as "may have been charged"). Retrying the step keeps the answer in hand, so the job goes on
as if nothing happened.

Retrying a step is safe because every step is a conditional UPDATE on the job's row with this
worker's lease. If the database applied an UPDATE but the connection broke before it said so,
the retry finds nothing to change and the step reports that it lost; the worker then stops
holding the job, the reaper hands it back once its heartbeat is stale, and the next claim goes
on from the stage the row shows. That costs time, never a second call: a call is made only
after ``mark_called`` won.

Inside a transaction a step is not retried (the transaction is gone with the connection); the
caller retries the whole transaction instead. Past the time limit the error propagates: the
runner lets the job go (the reaper and the dispatcher pick it up once the database is back).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection

logger = logging.getLogger(__name__)

T = TypeVar("T")
# What a database that cannot be reached raises; an IntegrityError or a bad query is not one.
DATABASE_UNREACHABLE = (OperationalError, InterfaceError)
FIRST_WAIT_SECONDS = 0.25
LONGEST_WAIT_SECONDS = 5.0


def database_retry(step: Callable[[], T], *, what: str) -> T:
    """``step()``, tried again while the database cannot be reached (see the module's doc)."""
    deadline = time.monotonic() + settings.JOB_DATABASE_RETRY_SECONDS
    wait = FIRST_WAIT_SECONDS
    while True:
        try:
            return step()
        except DATABASE_UNREACHABLE as exc:
            if connection.in_atomic_block or time.monotonic() + wait > deadline:
                raise
            logger.warning(
                "%s: the database cannot be reached (%s); trying again in %.2f s",
                what,
                str(exc).strip() or type(exc).__name__,
                wait,
            )
            with contextlib.suppress(DatabaseError):
                connection.close()  # the next query opens a new one
            time.sleep(wait)
            wait = min(wait * 2, LONGEST_WAIT_SECONDS)
