from __future__ import annotations

from celery import shared_task

from accounts import connection


@shared_task(acks_late=True, ignore_result=True)
def run_connection_check(check_id: int) -> None:
    connection.connection_check_run(check_id=check_id)
