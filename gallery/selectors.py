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


def image_page(*, workspace: Workspace, cursor: str | None = None, size: int = 48) -> ImagePage:
    """Newest first, keyset-paginated on (created_at, id): stable while new images arrive."""
    images = Image.objects.visible().filter(workspace=workspace).select_related("author")
    if cursor:
        try:
            micros, _, pk = cursor.partition("-")
            created = _EPOCH + dt.timedelta(microseconds=int(micros))
            images = images.filter(_before(created, int(pk)))
        except ValueError:
            pass  # a mangled cursor shows the first page rather than an error
    rows = list(images.order_by("-created_at", "-id")[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    next_cursor = _cursor(rows[-1]) if more else None
    return ImagePage(rows, next_cursor)


def quota_latest(*, workspace: Workspace) -> QuotaSnapshot | None:
    return QuotaSnapshot.objects.filter(workspace=workspace).first()


def _before(created: dt.datetime, pk: int) -> RawSQL:
    """Rows older than (created, pk), written as one row-value comparison. The equivalent
    `created_at < x OR (created_at = x AND id < y)` is not used by the (workspace, created_at,
    id) index as a range on PostgreSQL, so deep pages got slower with depth."""
    quote = connection.ops.quote_name
    table = quote(Image._meta.db_table)
    return RawSQL(  # noqa: S611 - quoted identifiers from the model; values are parameters
        f"({table}.{quote('created_at')}, {table}.{quote('id')}) < (%s, %s)",
        (connection.ops.adapt_datetimefield_value(created), pk),
        output_field=BooleanField(),
    )


def _cursor(image: Image) -> str:
    micros = (image.created_at - _EPOCH) // dt.timedelta(microseconds=1)
    return f"{micros}-{image.pk}"


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
    latest = runs.first()
    last_success = runs.filter(state=HistorySync.State.OK).first()
    next_run_at = None
    if has_history:
        interval = dt.timedelta(minutes=settings.HISTORY_SYNC_MINUTES)
        base = latest.created_at if latest else None
        next_run_at = base + interval if base else None
    mirrored = Image.objects.visible().filter(workspace=workspace, source="history").count()
    return SyncStatus(has_history, latest, last_success, mirrored, next_run_at)


def catalog_names(*, workspace: Workspace) -> dict[str, str]:
    """Model id → the name the provider's catalog gives it, for labels."""
    return dict(
        CatalogModel.objects.filter(workspace=workspace).values_list("provider_model_id", "name")
    )
