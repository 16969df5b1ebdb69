"""Celery's routine lines about the recovery tick stay out of the logs; everything else stays."""

from __future__ import annotations

import logging


def test_routine_lines_about_the_recovery_tick_are_dropped(caplog):
    caplog.set_level(logging.INFO)
    trace = logging.getLogger("celery.app.trace")
    trace.info("Task gallery.tasks.recover_jobs[1] succeeded in 0.01s: None")
    trace.info("Task gallery.tasks.run_job[2] succeeded in 3.1s: None")
    trace.warning("Task gallery.tasks.recover_jobs[3] raised unexpected: OperationalError")
    logging.getLogger("celery.beat").info(
        "Scheduler: Sending due task recover-jobs (gallery.tasks.recover_jobs)"
    )
    assert [r.getMessage() for r in caplog.records] == [
        "Task gallery.tasks.run_job[2] succeeded in 3.1s: None",
        "Task gallery.tasks.recover_jobs[3] raised unexpected: OperationalError",
    ]
