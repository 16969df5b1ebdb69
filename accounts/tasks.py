from __future__ import annotations

import smtplib

from celery import shared_task

from accounts import connection, notifications


@shared_task(acks_late=True, ignore_result=True)
def run_connection_check(check_id: int) -> None:
    connection.connection_check_run(check_id=check_id)


# Mail servers fail in passing (a timeout, a refused connection, a 4xx greeting): retried a few
# times, then given up; the notification is under the bell all the same.
@shared_task(
    acks_late=True,
    ignore_result=True,
    autoretry_for=(OSError, smtplib.SMTPException),
    retry_backoff=30,
    max_retries=4,
)
def send_notification_email(notification_id: int) -> None:
    notifications.notification_email(notification_id=notification_id)
