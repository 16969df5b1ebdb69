"""Quota snapshots: what the provider says is used and left, kept as a time series."""

from __future__ import annotations

import datetime as dt
import logging

from django.core.cache import cache

from accounts.connection import CredentialUnusable, provider_for
from accounts.models import Workspace
from config.celery import send_task_on_commit
from gallery.models import QuotaSnapshot
from providers import ProviderError

logger = logging.getLogger(__name__)

# After a job ends the header meter asks again every few seconds until a report taken after the
# job's end is in (the refresh it set off), for this long at most: a refresh that a burst of jobs
# shared, or that failed, must not keep a page polling.
METER_RECHECK_SECONDS = 5
METER_WAIT_SECONDS = 45
# A burst of jobs ending sets off one refresh, this long after the first of them ends.
QUOTA_REFRESH_DEBOUNCE_SECONDS = 5


def meter_recheck(
    *, latest: QuotaSnapshot | None, job_ended_at: dt.datetime, now: dt.datetime
) -> int | None:
    """In how many seconds the meter should ask again for the report after a job that ended at
    `job_ended_at`; None once that report is in, or after waiting long enough."""
    if latest is not None and latest.taken_at >= job_ended_at:
        return None
    if (now - job_ended_at).total_seconds() > METER_WAIT_SECONDS:
        return None
    return METER_RECHECK_SECONDS


def quota_refresh_request(*, workspace: Workspace, countdown: float | None = None) -> None:
    """Ask a worker to refresh the quota once this transaction commits (after `countdown` s)."""
    send_task_on_commit("gallery.tasks.refresh_quota", workspace.pk, countdown=countdown)


def quota_refresh_after_job(*, workspace: Workspace) -> None:
    """Refresh the quota after a job ended: once for a burst of jobs, a few seconds after the
    first of them ends (the cache key is shared by every worker)."""
    key = f"darkroom:quota-refresh-pending:{workspace.pk}"
    if cache.add(key, 1, timeout=QUOTA_REFRESH_DEBOUNCE_SECONDS):
        quota_refresh_request(workspace=workspace, countdown=QUOTA_REFRESH_DEBOUNCE_SECONDS)


def quota_first_report_request(*, workspace: Workspace) -> None:
    """A workspace with no report yet (a new one): ask for its first, at most once a minute
    however many pages' meters are waiting for it."""
    if cache.add(f"darkroom:quota-first-report:{workspace.pk}", 1, timeout=60):
        quota_refresh_request(workspace=workspace)


def quota_refresh(*, workspace: Workspace) -> QuotaSnapshot | None:
    """Ask the provider and record a snapshot; None (logged) when it cannot answer now.

    The meter then keeps showing the last known value with its age.
    """
    try:
        with provider_for(workspace.credential) as provider:
            if not provider.capabilities.has_quota:
                return None
            quota = provider.get_quota()
    except (ProviderError, CredentialUnusable) as exc:
        logger.warning("Quota refresh for workspace %s failed: %s", workspace.pk, exc)
        return None
    return QuotaSnapshot.objects.create(
        workspace=workspace,
        kind=quota.kind,
        monthly_used=quota.monthly_used,
        monthly_available=quota.monthly_available,
        monthly_limit=quota.monthly_limit,
        daily_used=quota.daily_used,
        daily_limit=quota.daily_limit,
        bonus=quota.bonus,
        spillover=quota.spillover,
        fair_use_reached=quota.fair_use_limit_reached,
        balance=quota.balance,
        currency=quota.currency or "",
    )
