"""Thin Celery adapters: take ids, call a service, decide only whether to try again."""

from __future__ import annotations

import logging
from typing import Any

from celery import Task, shared_task
from celery.signals import task_postrun, task_prerun, worker_ready, worker_shutdown
from django.utils import timezone

from accounts.models import Workspace
from config import logcontext
from gallery.ingest import IngestError
from gallery.services import (
    catalog,
    held,
    images,
    jobs,
    ops,
    quota,
    runner,
    sync,
    webhook_delivery,
)
from gallery.services.outages import DATABASE_UNREACHABLE
from providers import ProviderError

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def run_job(job_id: int) -> None:
    # Retries are not Celery retries: the runner puts the job back in the database and sends a
    # new message due at the right time; the dispatcher sends another if that one is lost.
    runner.job_run(job_id=job_id)


@task_prerun.connect
def _log_under_the_job(sender: Any = None, args: Any = None, **_: Any) -> None:
    """Celery's own lines about a job's task (succeeded, raised) carry the job id too."""
    if getattr(sender, "name", None) == run_job.name and args:
        logcontext.job_id.set(args[0])


@task_postrun.connect
def _log_under_no_job(sender: Any = None, **_: Any) -> None:
    if getattr(sender, "name", None) == run_job.name:
        logcontext.job_id.set(None)


@shared_task(ignore_result=True)
def recover_jobs() -> None:
    try:
        jobs.jobs_recover()
    except DATABASE_UNREACHABLE as exc:  # the next tick, seconds away, tries again
        logger.warning("Recovery tick skipped: the database cannot be reached (%s)", exc)


@shared_task(acks_late=True, ignore_result=True)
def refresh_quota(workspace_id: int) -> None:
    workspace = Workspace.objects.select_related("credential").filter(pk=workspace_id).first()
    if workspace is not None:
        quota.quota_refresh(workspace=workspace)


@shared_task(ignore_result=True)
def refresh_all_quotas() -> None:
    for workspace_id in Workspace.objects.values_list("pk", flat=True):
        refresh_quota.delay(workspace_id)


@shared_task(acks_late=True, ignore_result=True)
def refresh_catalog(workspace_id: int) -> None:
    workspace = Workspace.objects.select_related("credential").filter(pk=workspace_id).first()
    if workspace is not None:
        catalog.catalog_refresh_quietly(workspace=workspace)


@shared_task(ignore_result=True)
def refresh_all_catalogs() -> None:
    for workspace_id in Workspace.objects.values_list("pk", flat=True):
        refresh_catalog.delay(workspace_id)


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=8)
def delete_at_provider(self: Task, image_id: int) -> None:
    try:
        images.image_delete_at_provider(image_id=image_id)
    except ProviderError as exc:
        if not exc.transient:
            raise
        delay = held.backoff_seconds(self.request.retries + 1, exc.retry_after)
        raise self.retry(countdown=delay) from exc


@shared_task(acks_late=True, ignore_result=True)
def run_history_sync(run_id: int) -> None:
    sync.sync_run(run_id=run_id)


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=10)
def fetch_missing_files(self: Task, workspace_id: int) -> None:
    workspace = Workspace.objects.select_related("credential").filter(pk=workspace_id).first()
    if workspace is None:
        return
    try:
        _, more = sync.files_fetch_missing(workspace=workspace)
    except (ProviderError, IngestError) as exc:
        delay = held.backoff_seconds(self.request.retries + 1, exc.retry_after)
        raise self.retry(countdown=delay) from exc
    if more:
        fetch_missing_files.delay(workspace_id)


@shared_task(ignore_result=True)
def sync_all_histories(mode: str) -> None:
    for workspace in Workspace.objects.select_related("credential"):
        if workspace.credential.capabilities.has_history:
            sync.sync_request(workspace=workspace, mode=mode)


@shared_task(acks_late=True, ignore_result=True)
def deliver_webhook(delivery_id: int) -> None:
    # Retries are not Celery retries: the delivery row says when it is due again, a message is
    # sent for then, and the resend tick sends another if that one is lost.
    webhook_delivery.webhook_deliver(delivery_id=delivery_id)


@shared_task(ignore_result=True)
def resend_webhooks() -> None:
    try:
        webhook_delivery.webhook_deliveries_resend()
    except DATABASE_UNREACHABLE as exc:  # the next tick tries again
        logger.warning("Webhook resend tick skipped: the database cannot be reached (%s)", exc)


@shared_task(ignore_result=True)
def record_beat() -> None:
    ops.beat_tick(now=timezone.now())


# The worker's own heartbeat for the operations page, from its main process.
_heartbeats: list[ops.WorkerHeartbeat] = []


@worker_ready.connect
def _start_heartbeat(sender: Any = None, **_: Any) -> None:
    heartbeat = ops.WorkerHeartbeat(getattr(sender, "hostname", None) or "worker")
    heartbeat.start()
    _heartbeats.append(heartbeat)


@worker_shutdown.connect
def _stop_heartbeat(**_: Any) -> None:
    while _heartbeats:
        _heartbeats.pop().stop()
