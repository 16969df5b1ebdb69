"""Reads about a workspace as a whole: gallery status, quota and what is in flight, history
sync, pending budget requests, what export and delete cover, its webhook."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection
from django.db.models import (
    Count,
    Q,
    Sum,
)

from accounts.models import Membership, Workspace
from config.rows import model_columns, model_from_row
from gallery.costs import InFlight
from gallery.models import (
    ACTIVE_STATES,
    BudgetRequest,
    HistorySync,
    Image,
    Job,
    JobState,
    LedgerEntry,
    LedgerKind,
    QuotaSnapshot,
    RequestState,
    Webhook,
    WebhookDelivery,
)
from gallery.models.budgets import IMAGES


@dataclass(frozen=True)
class GalleryStatus:
    quota: QuotaSnapshot | None
    sync: SyncStatus


def gallery_status(*, workspace: Workspace) -> GalleryStatus:
    """The header's quota report and the history mirror's panel, in one query: the latest quota
    snapshot, the latest sync run and the latest successful one, each joined on its id.

    Written in SQL because the ORM's version (three FilteredRelations on the workspace) took
    ≈1.2 ms of Python to build on every gallery page, for a query the database answers in 0.1."""
    quote = connection.ops.quote_name
    quotas = quote(QuotaSnapshot._meta.db_table)
    syncs = quote(HistorySync._meta.db_table)
    columns = [
        column
        for alias, model in (("q", QuotaSnapshot), ("s", HistorySync), ("ok", HistorySync))
        for column in model_columns(model, alias)
    ]
    # Each the newest by its model's Meta.ordering; quoted names from the models, values are
    # parameters.
    sql = f"""
        SELECT {", ".join(columns)} FROM (SELECT 1 AS one) one
        LEFT JOIN {quotas} q ON q.id = (
            SELECT id FROM {quotas} WHERE workspace_id = %s
            ORDER BY taken_at DESC, id DESC LIMIT 1)
        LEFT JOIN {syncs} s ON s.id = (
            SELECT id FROM {syncs} WHERE workspace_id = %s
            ORDER BY created_at DESC, id DESC LIMIT 1)
        LEFT JOIN {syncs} ok ON ok.id = (
            SELECT id FROM {syncs} WHERE workspace_id = %s AND state = %s
            ORDER BY created_at DESC, id DESC LIMIT 1)
        """  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [workspace.pk, workspace.pk, workspace.pk, HistorySync.State.OK])
        row = cursor.fetchone()
    quota, row = model_from_row(QuotaSnapshot, row)
    latest, row = model_from_row(HistorySync, row)
    last_success, _ = model_from_row(HistorySync, row)
    sync = _sync_status(workspace, latest=latest, last_success=last_success)
    return GalleryStatus(quota, sync)


def quota_latest(*, workspace: Workspace) -> QuotaSnapshot | None:
    return QuotaSnapshot.objects.filter(workspace=workspace).first()


def in_flight(*, workspace: Workspace, since: dt.datetime | None) -> InFlight:
    """What the provider's last report (taken at `since`) does not show yet, from the ledger:
    what queued and running jobs reserved, and what jobs that ended after the report took. In
    images for a quota counted in images, by currency for a balance. One query."""
    pending = Q(kind=LedgerKind.RESERVE, job__state__in=ACTIVE_STATES)
    if since is not None:
        pending |= Q(kind=LedgerKind.SETTLE, job__finished_at__gt=since)
    totals = dict(
        LedgerEntry.objects.filter(pending, workspace=workspace)
        .values_list("unit")
        .annotate(total=Sum("amount"))
        .values_list("unit", "total")
    )
    images = totals.pop(IMAGES, 0)
    return InFlight(images=int(images), amounts=totals)


@dataclass(frozen=True)
class SyncStatus:
    has_history: bool
    latest: HistorySync | None
    last_success: HistorySync | None
    mirrored: int
    next_run_at: dt.datetime | None


def sync_status(*, workspace: Workspace) -> SyncStatus:
    """What the workspace page says about the history mirror."""
    return gallery_status(workspace=workspace).sync


def _sync_status(
    workspace: Workspace, *, latest: HistorySync | None, last_success: HistorySync | None
) -> SyncStatus:
    from django.conf import settings

    has_history = workspace.credential.capabilities.has_history
    next_run_at = None
    if has_history:
        interval = dt.timedelta(minutes=settings.HISTORY_SYNC_MINUTES)
        base = latest.created_at if latest else None
        next_run_at = base + interval if base else None
    # Counted when a run ends, never on a page view.
    mirrored = last_success.images_mirrored or 0 if last_success else 0
    return SyncStatus(has_history, latest, last_success, mirrored, next_run_at)


def budget_request_count_pending(*, workspace: Workspace) -> int:
    return BudgetRequest.objects.filter(workspace=workspace, state=RequestState.PENDING).count()


@dataclass(frozen=True)
class WorkspaceContents:
    images: int
    jobs_active: int
    jobs_running: int
    members: int


def workspace_contents(*, workspace: Workspace) -> WorkspaceContents:
    """What deleting the workspace would take with it, in three queries."""
    images = Image.objects.visible().filter(workspace=workspace).count()
    jobs = Job.objects.filter(workspace=workspace).aggregate(
        active=Count("pk", filter=Q(state__in=ACTIVE_STATES)),
        running=Count("pk", filter=Q(state=JobState.RUNNING)),
    )
    return WorkspaceContents(
        images=images,
        jobs_active=jobs["active"],
        jobs_running=jobs["running"],
        members=Membership.objects.filter(workspace=workspace).count(),
    )


def webhook_for_workspace(*, workspace: Workspace) -> Webhook | None:
    return Webhook.objects.filter(workspace=workspace).first()


def webhook_delivery_list(*, webhook: Webhook, limit: int = 20) -> list[WebhookDelivery]:
    """The newest deliveries, one query (the payload stays in the database)."""
    return list(WebhookDelivery.objects.filter(webhook=webhook).defer("payload")[:limit])
