"""The history mirror: the provider's own history, upserted into Image rows page by page.

Incremental syncs walk newest first and stop at the first page that holds nothing new; full syncs
read everything and also mark images the provider no longer has as removed. Rows are keyed by the
provider's image id (unique per workspace), so any run can be repeated or restarted after a
failure without duplicates. Files are fetched afterwards, in the background, with the pipeline's
guards; the sync itself only moves metadata, so it streams through any history size.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from accounts.connection import CredentialUnusable, provider_for
from accounts.models import User, Workspace
from accounts.text import sentence
from config.celery import send_task_on_commit
from gallery import ingest
from gallery.models import HistorySync, Image, ImageSource
from providers import HistoryItem, ProviderError

logger = logging.getLogger(__name__)


def sync_request(
    *, workspace: Workspace, mode: str, requested_by: User | None = None
) -> HistorySync:
    """Queue a sync (the worker runs it); one already queued or running is returned instead."""
    pending = HistorySync.objects.filter(
        workspace=workspace, state__in=(HistorySync.State.QUEUED, HistorySync.State.RUNNING)
    ).first()
    if pending is not None:
        return pending
    run = HistorySync.objects.create(workspace=workspace, mode=mode, requested_by=requested_by)
    send_task_on_commit("gallery.tasks.run_history_sync", run.pk)
    return run


def _claim(run_id: int) -> HistorySync | None:
    """QUEUED → RUNNING, guarded by the one-running-sync-per-workspace constraint."""
    now = timezone.now()
    run = HistorySync.objects.select_related("workspace__credential").get(pk=run_id)
    if run.state != HistorySync.State.QUEUED:
        return None
    _release_stale_lock(run.workspace)
    try:
        with transaction.atomic():
            claimed = HistorySync.objects.filter(pk=run_id, state=HistorySync.State.QUEUED).update(
                state=HistorySync.State.RUNNING, started_at=now, heartbeat_at=now
            )
    except IntegrityError:
        HistorySync.objects.filter(pk=run_id).update(
            state=HistorySync.State.SKIPPED,
            finished_at=now,
            error="Another sync was already running.",
        )
        return None
    if not claimed:
        return None
    run.refresh_from_db()
    return run


def _release_stale_lock(workspace: Workspace) -> None:
    """A sync whose worker died stops holding the lock once its heartbeat is old."""
    cutoff = timezone.now() - dt.timedelta(seconds=settings.HISTORY_SYNC_STALE_SECONDS)
    HistorySync.objects.filter(
        workspace=workspace, state=HistorySync.State.RUNNING, heartbeat_at__lt=cutoff
    ).update(
        state=HistorySync.State.FAILED,
        finished_at=timezone.now(),
        error="The worker stopped mid-sync.",
    )


def sync_run(*, run_id: int) -> HistorySync | None:
    run = _claim(run_id)
    if run is None:
        return None
    workspace = run.workspace
    started = run.started_at or timezone.now()
    seen: set[str] = set()
    # Stopping at the first known page is only safe when the previous run got to the end; after
    # an interrupted or first run, an incremental sync walks on to pick up what was missed.
    previous = (
        HistorySync.objects.filter(workspace=workspace, finished_at__isnull=False)
        .exclude(pk=run.pk)
        .exclude(state=HistorySync.State.SKIPPED)
        .first()
    )
    stop_early = (
        run.mode == HistorySync.Mode.INCREMENTAL and previous is not None and previous.state == "ok"
    )
    try:
        with provider_for(workspace.credential) as provider:
            if not provider.capabilities.has_history:
                return _finish(
                    run,
                    error="This provider keeps no history; the gallery shows what was made here.",
                )
            size = settings.HISTORY_PAGE_SIZE if run.mode == HistorySync.Mode.INCREMENTAL else 1000
            for page in provider.history_pages(page_size=size):
                new, updated = _upsert(workspace, page)
                seen.update(item.provider_image_id for item in page)
                run.pages_fetched += 1
                run.entries_seen += len(page)
                run.entries_new += new
                run.entries_updated += updated
                run.heartbeat_at = timezone.now()
                run.save(
                    update_fields=[
                        "pages_fetched",
                        "entries_seen",
                        "entries_new",
                        "entries_updated",
                        "heartbeat_at",
                    ]
                )
                if stop_early and new == 0:
                    break  # a whole page we already had: everything older is known too
    except (ProviderError, CredentialUnusable) as exc:
        return _finish(run, error=sentence(str(exc)))
    if run.mode == HistorySync.Mode.FULL:
        run.entries_removed = _mark_removed(workspace, seen, before=started)
    _finish(run)
    _enqueue_file_fetch(workspace)
    return run


def _upsert(workspace: Workspace, items: Iterable[HistoryItem]) -> tuple[int, int]:
    """Create rows for new provider images and refresh known ones; returns (new, updated)."""
    items = [item for item in items if item.provider_image_id]
    known = {
        image.provider_image_id: image
        for image in Image.objects.filter(
            workspace=workspace, provider_image_id__in=[item.provider_image_id for item in items]
        )
    }
    fresh, changed = [], []
    for item in items:
        image = known.get(item.provider_image_id)
        if image is None:
            fresh.append(
                Image(
                    workspace=workspace,
                    source=ImageSource.HISTORY,
                    provider=workspace.credential.kind,
                    provider_image_id=item.provider_image_id,
                    provider_url=item.relative_url or "",
                    prompt=item.prompt or "",
                    model_id=item.model or "",
                    width=item.width,
                    height=item.height,
                    provider_created_at=item.created_at,
                )
            )
        elif _refresh(image, item):
            changed.append(image)
    # ignore_conflicts: a concurrent pipeline job may store the same provider image meanwhile.
    Image.objects.bulk_create(fresh, ignore_conflicts=True)
    if changed:
        Image.objects.bulk_update(
            changed, ["provider_url", "provider_created_at", "deleted_at", "removed_at_provider"]
        )
    return len(fresh), len(changed)


def _refresh(image: Image, item: HistoryItem) -> bool:
    """Bring a known row in line with the provider's entry; True when something changed."""
    before = (image.provider_url, image.provider_created_at, image.removed_at_provider)
    image.provider_url = item.relative_url or image.provider_url
    image.provider_created_at = item.created_at or image.provider_created_at
    if image.removed_at_provider:  # it is back (or was never really gone)
        image.removed_at_provider = False
        image.deleted_at = None
    return (image.provider_url, image.provider_created_at, image.removed_at_provider) != before


def _mark_removed(workspace: Workspace, seen: set[str], *, before: dt.datetime) -> int:
    """Images the provider no longer lists. Only rows older than this sync are candidates, so
    an image made while the sync ran is never mistaken for a deleted one."""
    candidates = (
        Image.objects.visible()
        .filter(workspace=workspace, created_at__lt=before)
        .exclude(provider_image_id="")
        .values_list("pk", "provider_image_id")
    )
    gone = [
        pk for pk, provider_id in candidates.iterator(chunk_size=2000) if provider_id not in seen
    ]
    for start in range(0, len(gone), 1000):
        Image.objects.filter(pk__in=gone[start : start + 1000]).update(
            deleted_at=timezone.now(), removed_at_provider=True
        )
    return len(gone)


def _finish(run: HistorySync, *, error: str = "") -> HistorySync:
    run.state = HistorySync.State.FAILED if error else HistorySync.State.OK
    run.error = error
    run.finished_at = timezone.now()
    run.images_mirrored = (
        Image.objects.visible().filter(workspace_id=run.workspace_id, source="history").count()
    )
    run.save()
    if error:
        logger.warning(
            "History sync %s of workspace %s failed: %s", run.pk, run.workspace_id, error
        )
    return run


def _enqueue_file_fetch(workspace: Workspace) -> None:
    if _missing_files(workspace).exists():
        send_task_on_commit("gallery.tasks.fetch_missing_files", workspace.pk)


def _missing_files(workspace: Workspace) -> QuerySet[Image]:
    return (
        Image.objects.visible()
        .filter(workspace=workspace, file="", file_error="")
        .exclude(provider_image_id="")
        .order_by("-provider_created_at", "-pk")
    )


def files_fetch_missing(*, workspace: Workspace, limit: int = 50) -> tuple[int, bool]:
    """Download up to `limit` mirrored images that have no file yet, with the pipeline's guards.

    Returns (stored, more_left). A transient failure (``IngestError``) stops the batch, for the
    task to retry later; a permanent one is recorded on the image and not retried.
    """
    stored = 0
    batch = list(_missing_files(workspace)[:limit])
    with provider_for(workspace.credential) as provider:
        for image in batch:
            try:
                ingest.ingest_image(image, provider, image_id=image.provider_image_id)
            except ingest.IngestError as exc:
                if exc.transient:
                    raise
                image.file_error = str(exc)[:300]
                image.save(update_fields=["file_error"])
                continue
            image.save(
                update_fields=[
                    "file",
                    "thumbnail",
                    "width",
                    "height",
                    "format",
                    "bytes",
                    "checksum",
                ]
            )
            stored += 1
    return stored, _missing_files(workspace).exists()
