"""A task for the broker stress test: it notes which message arrived (imported by the test's
worker through `--include`)."""

from __future__ import annotations

import os

from celery import shared_task


@shared_task(name="darkroom.tests.record", ignore_result=True)
def record(number: int) -> None:
    # One small O_APPEND write per message: whole lines even with several pool processes.
    fd = os.open(os.environ["STRESS_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    try:
        os.write(fd, f"{number}\n".encode())
    finally:
        os.close(fd)
