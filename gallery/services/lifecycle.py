"""A workspace's end of life: everything exported as one streamed ZIP, and deleted for good.

Both are for workspace admins (the views check); the deletion's record is the installation's
own (`AuditEvent.workspace` None), so it survives the workspace.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import tempfile
import zipfile
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.files.storage import Storage, default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import AuditVerb, Membership, User, Workspace
from accounts.services import audit_record
from accounts.text import stored_message_id
from config.storage import open_stream
from gallery.ingest import STORAGE_ERRORS
from gallery.models import Comment, HistorySync, Image, Job, JobState
from gallery.selectors import catalog_names
from gallery.services.bulk import READ_SIZE, ZipPipe, csv_line, zip_entry_name
from gallery.services.jobs import job_cancel

logger = logging.getLogger(__name__)

# --- Export -----------------------------------------------------------------------------------

EXPORT_COLUMNS = (
    "id",
    "file",
    "prompt",
    "model",
    "model_name",
    "parameters",
    "kind",
    "author",
    "author_email",
    "source",
    "created_at",
    "finished_at",
    "provider_created_at",
    "review_state",
    "parent_image",
    "parent_file",
    "job",
    "comments",
)
# Past this, the metadata being written waits in a temporary file instead of memory.
SPOOL_BYTES = 1024 * 1024
ROWS_PER_READ = 500


def workspace_export(*, workspace: Workspace, actor: User) -> Iterator[bytes]:
    """Record the export and return the ZIP of every image of the workspace, yielded in pieces
    as it is written: each original under `images/`, and `images.json` and `images.csv` with
    what is known of each image (prompt, model, parameters, author, times, review state,
    comments, the parent an edit was made from).

    Memory stays flat and the queries are the same few however many images there are: the
    images and the comments are each read by one query, in id order, and merged; the metadata
    waits in temporary files (spilled to disk past SPOOL_BYTES) while the originals stream."""
    audit_record(workspace=workspace, actor=actor, verb=AuditVerb.WORKSPACE_EXPORTED)
    return _export_zip(workspace.pk, catalog_names(workspace=workspace))


def _export_zip(workspace_id: int, model_names: Mapping[str, str]) -> Iterator[bytes]:
    images = (
        Image.objects.visible()
        .filter(workspace_id=workspace_id)
        .select_related("author", "job", "parent")
        .order_by("pk")
    )
    comments = (
        Comment.objects.filter(image__workspace_id=workspace_id, image__deleted_at__isnull=True)
        .select_related("author")
        .order_by("image_id", "created_at", "pk")
    )
    pipe = ZipPipe()
    with (
        tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as as_json,
        tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as as_csv,
        zipfile.ZipFile(pipe, mode="w", compression=zipfile.ZIP_STORED) as archive,
    ):
        as_csv.write(csv_line(EXPORT_COLUMNS))
        as_json.write(b"[")
        by_image = _CommentsByImage(comments.iterator(chunk_size=ROWS_PER_READ))
        for n, image in enumerate(images.iterator(chunk_size=ROWS_PER_READ)):
            name = yield from _write_original(archive, pipe, image)
            record = _record(image, name, by_image.of(image.pk), model_names)
            as_json.write((",\n " if n else "\n ").encode())
            as_json.write(json.dumps(record, ensure_ascii=False).encode())
            as_csv.write(csv_line(_csv_values(record)))
        as_json.write(b"\n]\n")
        for entry_name, spool in (("images.json", as_json), ("images.csv", as_csv)):
            spool.seek(0)
            with archive.open(entry_name, mode="w") as entry:
                while chunk := spool.read(READ_SIZE):
                    entry.write(chunk)
                    yield from pipe.drain()
    yield from pipe.drain()


class _CommentsByImage:
    """The comments, read in image id order, handed out per image as the images (read in the
    same order) come: one pass over each, a merge."""

    def __init__(self, comments: Iterator[Comment]) -> None:
        self._comments = comments
        self._pending = next(comments, None)

    def of(self, image_id: int) -> list[Comment]:
        found = []
        while self._pending is not None and self._pending.image_id <= image_id:
            if self._pending.image_id == image_id:
                found.append(self._pending)
            self._pending = next(self._comments, None)
        return found


def _write_original(
    archive: zipfile.ZipFile, pipe: ZipPipe, image: Image
) -> Generator[bytes, None, str]:
    """Stream the image's original into the archive; the entry's name ("" when it has none, or
    storage no longer holds it) is the generator's return value."""
    if not image.file:
        return ""
    try:
        source = open_stream(image.file)
    except FileNotFoundError:
        return ""
    name = f"images/{zip_entry_name(image)}"
    info = zipfile.ZipInfo(name, date_time=timezone.localtime(image.created_at).timetuple()[:6])
    info.file_size = image.bytes or 0  # only decides whether ZIP64 is needed
    with source, archive.open(info, mode="w") as entry:
        while chunk := source.read(READ_SIZE):
            entry.write(chunk)
            yield from pipe.drain()
    yield from pipe.drain()
    return name


def _time(value: Any) -> str | None:
    return timezone.localtime(value).isoformat(timespec="seconds") if value else None


def _record(
    image: Image, file_name: str, comments: list[Comment], model_names: Mapping[str, str]
) -> dict[str, Any]:
    job, parent = image.job, image.parent
    parent_file = None
    if parent is not None and parent.file and parent.deleted_at is None:
        parent_file = f"images/{zip_entry_name(parent)}"
    return {
        "id": image.pk,
        "file": file_name,
        "prompt": image.prompt,
        "model": image.model_id,
        "model_name": model_names.get(image.model_id, image.model_id),
        "parameters": job.params if job else {},
        "kind": job.kind if job else None,
        "author": image.author.display_name if image.author else None,
        "author_email": image.author.email if image.author else None,
        "source": image.source,
        "created_at": _time(image.created_at),
        "finished_at": _time(job.finished_at if job else None),
        "provider_created_at": _time(image.provider_created_at),
        "review_state": image.review_state,
        "parent_image": image.parent_id,
        "parent_file": parent_file,
        "job": image.job_id,
        "comments": [
            {
                "author": comment.author.display_name if comment.author else None,
                "body": comment.body,
                "created_at": _time(comment.created_at),
            }
            for comment in comments
        ],
    }


def _csv_values(record: dict[str, Any]) -> tuple[str, ...]:
    def text(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, dict | list):
            return json.dumps(value, ensure_ascii=False) if value else ""
        return str(value)

    return tuple(text(record[column]) for column in EXPORT_COLUMNS)


# --- Delete -----------------------------------------------------------------------------------


class WorkspaceBusy(Exception):
    """A worker holds one of the workspace's jobs right now; deleting it must wait."""


@dataclass(frozen=True)
class WorkspaceDeleted:
    name: str
    images: int
    jobs_cancelled: int
    files_removed: int


def workspace_delete(*, membership: Membership) -> WorkspaceDeleted:
    """Delete the admin's workspace and everything of it: images and their files (in whatever
    storage), jobs, the credential, memberships, budgets, the audit log. A record of who
    deleted what and when stays, not tied to any workspace.

    Queued jobs are cancelled first (`job_cancel`: their reservations released). A job queued
    after its provider call (waiting to be reconciled, or to store what was paid for) just goes:
    with its row gone nothing calls the provider for it again. A job a worker is running now
    raises WorkspaceBusy: its worker may be storing files this would miss.
    """
    workspace, actor = membership.workspace, membership.user
    with transaction.atomic():
        # Locked: a worker's claim of any of these waits for this, and then finds nothing.
        jobs = list(Job.objects.select_for_update().filter(workspace=workspace).active())
        _refuse_while_a_worker_writes(workspace, jobs)
        cancelled = sum(
            job_cancel(job=job, membership=membership) for job in jobs if job.can_cancel
        )
        name, slug, pk = workspace.name, workspace.slug, workspace.pk
        folder = f"images/{pk}"
        # The workspace's folder is swept as a whole below; only a file stored anywhere else
        # (none is, today: see `gallery.models.images._image_path`) needs remembering by name.
        stored = Image.objects.filter(workspace=workspace).values_list("file", "thumbnail")
        elsewhere = [
            file
            for pair in stored.iterator()
            for file in pair
            if file and not file.startswith(f"{folder}/")
        ]
        images = Image.objects.visible().filter(workspace=workspace).count()
        Workspace.objects.filter(pk=pk).delete()
        audit_record(
            workspace=None,
            actor=actor,
            verb=AuditVerb.WORKSPACE_DELETED,
            target=name,
            detail=deleted_detail(slug, images),
        )
    removed = _remove_files(default_storage, elsewhere, folder=folder)
    return WorkspaceDeleted(name, images, cancelled, removed)


# The installation log's detail of a deleted workspace: stored in English, shown in the
# reader's language (accounts.text.stored_text). Two messages, not ngettext: stored_text
# matches the stored English against a msgid.
_DELETED_ONE = stored_message_id(gettext_noop("/w/%(slug)s/ with 1 image"))
_DELETED_MANY = stored_message_id(gettext_noop("/w/%(slug)s/ with %(count)s images"))


def deleted_detail(slug: str, images: int) -> str:
    """The audit detail of a deleted workspace, in English: "/w/brand-studio/ with 6 images"."""
    if images == 1:
        return _DELETED_ONE % {"slug": slug}
    return _DELETED_MANY % {"slug": slug, "count": images}


def _refuse_while_a_worker_writes(workspace: Workspace, jobs: list[Job]) -> None:
    """WorkspaceBusy while a live worker runs one of the jobs or a history sync: it may be
    storing files and rows this deletion would miss. One whose heartbeat is stale has no
    worker any more, and does not hold the deletion back."""
    now = timezone.now()
    job_cutoff = now - dt.timedelta(seconds=settings.JOB_STALE_SECONDS)
    running = sum(
        job.state == JobState.RUNNING
        and job.heartbeat_at is not None
        and job.heartbeat_at >= job_cutoff
        for job in jobs
    )
    if running:
        raise WorkspaceBusy(
            _(
                "%(running)s job%(value)s running right now. Wait for %(value2)s to finish "
                "(usually within a minute), then delete again. Nothing was deleted."
            )
            % {
                "running": running,
                "value": "s are" if running > 1 else " is",
                "value2": "them" if running > 1 else "it",
            }
        )
    sync_cutoff = now - dt.timedelta(seconds=settings.HISTORY_SYNC_STALE_SECONDS)
    if HistorySync.objects.filter(
        workspace=workspace, state=HistorySync.State.RUNNING, heartbeat_at__gte=sync_cutoff
    ).exists():
        raise WorkspaceBusy(
            _(
                "The provider's history is being copied in right now. Wait for it to finish "
                "(usually within a minute), then delete again. Nothing was deleted."
            )
        )


def _remove_files(storage: Storage, names: list[str], *, folder: str) -> int:
    """Remove the named files, then whatever else is left in the workspace's folder (a file
    whose row was lost, a thumbnail of an image deleted while storage was down). A storage that
    fails is logged, not raised: the workspace is gone either way."""
    removed = 0
    try:
        for name in names:
            if storage.exists(name):
                storage.delete(name)
                removed += 1
        removed += _remove_folder(storage, folder)
    except STORAGE_ERRORS:
        logger.exception("Workspace folder %s: files could not all be removed", folder)
    return removed


def _remove_folder(storage: Storage, folder: str) -> int:
    try:
        folders, files = storage.listdir(folder)
    except FileNotFoundError:
        return 0
    removed = 0
    for name in files:
        storage.delete(f"{folder}/{name}")
        removed += 1
    for sub in folders:
        removed += _remove_folder(storage, f"{folder}/{sub}")
    _remove_empty_folder(storage, folder)
    return removed


def _remove_empty_folder(storage: Storage, folder: str) -> None:
    """On the local disk the emptied folder goes too (a bucket has no folders to remove)."""
    try:
        path = storage.path(folder)
    except NotImplementedError:
        return
    with contextlib.suppress(OSError):
        os.rmdir(path)
