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


def _as_printed(record: logging.LogRecord) -> str:
    from django.conf import settings

    return logging.Formatter(settings.LOGGING["formatters"]["plain"]["format"]).format(record)


def test_a_refused_request_logs_one_line_with_the_reason_and_no_traceback(
    viewer_client, workspace, caplog
):
    from django.urls import reverse

    caplog.set_level(logging.WARNING, logger="django.request")
    url = reverse("accounts:settings_members", args=[workspace.slug])

    assert viewer_client.get(url).status_code == 403

    [record] = [r for r in caplog.records if r.name == "django.request"]
    printed = _as_printed(record)
    assert "\n" not in printed
    assert printed.endswith(
        f"WARNING django.request: Forbidden (Permission denied): {url}: "
        "This needs the admin role in Studio."
    )


def test_a_server_error_keeps_its_traceback(caplog):
    caplog.set_level(logging.ERROR, logger="django.request")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("django.request").error(
            "Internal Server Error: /x", exc_info=True, extra={"status_code": 500}
        )

    [record] = caplog.records
    assert "Traceback (most recent call last)" in _as_printed(record)


def test_kombus_warning_about_the_filesystem_brokers_missing_host_is_dropped(caplog):
    from kombu import Connection

    caplog.set_level(logging.WARNING, logger="kombu.connection")
    connection = Connection("filesystem://")
    connection.info()
    logging.getLogger("kombu.connection").warning("Something else worth saying")

    assert [r.getMessage() for r in caplog.records] == ["Something else worth saying"]
