from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    Count,
    IntegerField,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.expressions import RawSQL

from accounts.models import User, Workspace
from gallery.filters import GalleryFilter
from gallery.models import (
    CatalogModel,
    CatalogStatus,
    HistorySync,
    Image,
    Job,
    JobKind,
    JobState,
    QuotaSnapshot,
)


def catalog_for(*, workspace: Workspace, kind: str = JobKind.TEXT2IMAGE) -> list[CatalogModel]:
    models = list(CatalogModel.objects.filter(workspace=workspace))
    if kind == JobKind.EDIT:
        return [m for m in models if m.can_edit]
    return [m for m in models if m.can_generate]


def catalog_error(*, workspace: Workspace) -> str:
    """Why the last catalog refresh failed, until someone asks again ("" when it did not)."""
    return (
        CatalogStatus.objects.filter(workspace=workspace).values_list("error", flat=True).first()
        or ""
    )


def _with_images(jobs: QuerySet[Job]) -> QuerySet[Job]:
    deleted = Count("images", filter=Q(images__deleted_at__isnull=False))
    return (
        jobs.select_related("author")
        .annotate(deleted_images=deleted)
        .prefetch_related(
            Prefetch(
                "images", queryset=Image.objects.visible().order_by("id"), to_attr="visible_images"
            )
        )
    )


def job_list_for_queue(*, workspace: Workspace, user: User, limit: int = 20) -> list[Job]:
    """The workspace's recent jobs, the viewer's own first, with queue positions."""
    mine_first = Case(
        When(author=user, then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    jobs = Job.objects.filter(workspace=workspace)
    listed = list(_with_images(jobs).order_by(mine_first, "-created_at", "-id")[:limit])
    _set_queue_positions(workspace, listed)
    return listed


def job_for_card(*, job_id: int) -> Job:
    job = _with_images(Job.objects.filter(pk=job_id)).get()
    _set_queue_positions(job.workspace, [job])
    return job


def _set_queue_positions(workspace: Workspace, jobs: list[Job]) -> None:
    """`queue_position`: 1 for the next job a worker takes in this workspace, None once running."""
    queued = Job.objects.filter(workspace=workspace, state=JobState.QUEUED).order_by(
        "created_at", "pk"
    )
    position = {pk: i for i, pk in enumerate(queued.values_list("pk", flat=True), start=1)}
    for job in jobs:
        job.queue_position = position.get(job.pk)


_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class ImagePage:
    images: list[Image]
    next_cursor: str | None


def image_page(
    *,
    workspace: Workspace,
    user: User,
    image_filter: GalleryFilter | None = None,
    cursor: str | None = None,
    size: int = 48,
) -> ImagePage:
    """One page of the filtered gallery, keyset-paginated on (created_at, id): stable while new
    images arrive, and as fast on page 1,000 as on page 1 (no OFFSET, no COUNT)."""
    image_filter = image_filter or GalleryFilter()
    newest_first = image_filter.newest_first
    images = image_filter.images(workspace=workspace, user=user).select_related("author")
    position = _parse_cursor(cursor)
    if position:
        images = images.filter(_beyond(*position, newest_first=newest_first))
    order = ("-created_at", "-id") if newest_first else ("created_at", "id")
    rows = list(images.order_by(*order)[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    next_cursor = image_cursor(rows[-1]) if more else None
    return ImagePage(rows, next_cursor)


def image_neighbours(
    *, image: Image, user: User, image_filter: GalleryFilter
) -> tuple[Image | None, Image | None]:
    """The images before and after `image` in the filtered gallery's order (for ← →)."""
    images = image_filter.images(workspace=image.workspace, user=user)
    position = (image.created_at, image.pk)
    newest_first = image_filter.newest_first
    order = ("-created_at", "-id") if newest_first else ("created_at", "id")
    reverse = ("created_at", "id") if newest_first else ("-created_at", "-id")
    after = images.filter(_beyond(*position, newest_first=newest_first)).order_by(*order).first()
    before = (
        images.filter(_beyond(*position, newest_first=not newest_first)).order_by(*reverse).first()
    )
    return before, after


def quota_latest(*, workspace: Workspace) -> QuotaSnapshot | None:
    return QuotaSnapshot.objects.filter(workspace=workspace).first()


def _beyond(created: dt.datetime, pk: int, *, newest_first: bool) -> RawSQL:
    """Rows after (created, pk) in the page's order, as one row-value comparison. The
    equivalent `created_at < x OR (created_at = x AND id < y)` is not used by the (workspace,
    created_at, id) index as a range on PostgreSQL, so deep pages got slower with depth."""
    quote = connection.ops.quote_name
    table = quote(Image._meta.db_table)
    operator = "<" if newest_first else ">"
    return RawSQL(  # noqa: S611 - quoted identifiers from the model; values are parameters
        f"({table}.{quote('created_at')}, {table}.{quote('id')}) {operator} (%s, %s)",
        (connection.ops.adapt_datetimefield_value(created), pk),
        output_field=BooleanField(),
    )


def image_cursor(image: Image) -> str:
    """Where a page ends, for the next one to start after: `<microseconds>-<id>`."""
    micros = (image.created_at - _EPOCH) // dt.timedelta(microseconds=1)
    return f"{micros}-{image.pk}"


def _parse_cursor(cursor: str | None) -> tuple[dt.datetime, int] | None:
    """A mangled cursor means the first page rather than an error."""
    if not cursor:
        return None
    micros, _, pk = cursor.partition("-")
    try:
        return _EPOCH + dt.timedelta(microseconds=int(micros)), int(pk)
    except (ValueError, OverflowError):
        return None


_RECENT_RUNS = 10


@dataclass(frozen=True)
class SyncStatus:
    has_history: bool
    latest: HistorySync | None
    last_success: HistorySync | None
    mirrored: int
    next_run_at: dt.datetime | None


def sync_status(*, workspace: Workspace) -> SyncStatus:
    """What the workspace page says about the history mirror."""
    from django.conf import settings

    has_history = workspace.credential.capabilities.has_history
    runs = HistorySync.objects.filter(workspace=workspace)
    # The latest run and the latest successful one, nearly always among the last few: one plain
    # query (a second only after that many runs in a row failed). Cheaper to build than one
    # query with two subqueries, on every gallery page.
    recent = list(runs[:_RECENT_RUNS])
    latest = recent[0] if recent else None
    last_success = next((run for run in recent if run.state == HistorySync.State.OK), None)
    if last_success is None and len(recent) == _RECENT_RUNS:
        last_success = runs.filter(state=HistorySync.State.OK).first()
    next_run_at = None
    if has_history:
        interval = dt.timedelta(minutes=settings.HISTORY_SYNC_MINUTES)
        base = latest.created_at if latest else None
        next_run_at = base + interval if base else None
    # Counted when a run ends, never on a page view.
    mirrored = last_success.images_mirrored or 0 if last_success else 0
    return SyncStatus(has_history, latest, last_success, mirrored, next_run_at)


def catalog_names(*, workspace: Workspace) -> dict[str, str]:
    """Model id → the name the provider's catalog gives it, for labels."""
    return dict(
        CatalogModel.objects.filter(workspace=workspace).values_list("provider_model_id", "name")
    )
