from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.cache import cache
from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy

from accounts.models import Membership, User, Workspace
from config.rows import model_columns, model_from_row
from gallery.costs import InFlight
from gallery.filters import FilterChoices, GalleryFilter
from gallery.models import (
    ACTIVE_STATES,
    BudgetRequest,
    CatalogModel,
    CatalogStatus,
    Collection,
    CollectionItem,
    Comment,
    Comparison,
    Favourite,
    HistorySync,
    Image,
    Job,
    JobKind,
    JobState,
    LedgerEntry,
    LedgerKind,
    QuotaSnapshot,
    RequestState,
    ReviewEvent,
    Webhook,
    WebhookDelivery,
)
from gallery.models.budgets import IMAGES


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
    # The author's name as three columns rather than a User per tile (select_related): 0.3 ms
    # less a page. Each image gets `author_name`, None when it has no author.
    images = image_filter.images(workspace=workspace, user=user).annotate(
        author_first_name=F("author__first_name"),
        author_last_name=F("author__last_name"),
        author_email=F("author__email"),
    )
    position = _parse_cursor(cursor)
    if position:
        images = images.filter(_beyond(*position, newest_first=newest_first))
    order = ("-created_at", "-id") if newest_first else ("created_at", "id")
    rows: list[Image] = list(images.order_by(*order)[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    for image in rows:
        image.author_name = (  # type: ignore[attr-defined]
            User.name_shown(image.author_first_name, image.author_last_name, image.author_email)  # type: ignore[attr-defined]
            if image.author_id
            else None
        )
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


# The models and providers the workspace's images were made with: finding them reads every
# image of the workspace (≈40 ms at 100,000 on PostgreSQL), so it is remembered for a while: a
# new one shows up in the filter bar within 15 minutes; the catalog's own models are always there.
_PRESENT_SECONDS = 900


def filter_choices(*, workspace: Workspace) -> FilterChoices:
    """What the gallery's filter bar offers: the catalog's models and those images were made
    with, the members, the collections and the providers. One query (a UNION of small reads)."""
    cache_key = f"gallery:present:{workspace.pk}"
    present: list[tuple[str, str]] | None = cache.get(cache_key)

    # In SQL: as four ORM querysets in a union it took ≈0.6 ms of Python to build on every
    # gallery page. Each row: kind, key, then up to three labels.
    quote = connection.ops.quote_name
    tables = {
        name: quote(model._meta.db_table)
        for name, model in (
            ("catalog", CatalogModel),
            ("memberships", Membership),
            ("users", User),
            ("collections", Collection),
            ("images", Image),
        )
    }
    parts = [
        "SELECT 'model', provider_model_id, name, '', '' FROM {catalog} WHERE workspace_id = %s",
        "SELECT 'member', CAST(m.user_id AS TEXT), u.first_name, u.last_name, u.email "
        "FROM {memberships} m JOIN {users} u ON u.id = m.user_id WHERE m.workspace_id = %s",
        "SELECT 'collection', CAST(id AS TEXT), name, '', '' FROM {collections} "
        "WHERE workspace_id = %s",
    ]
    if present is None:
        parts.append(
            "SELECT DISTINCT 'present', model_id, provider, '', '' FROM {images} "
            "WHERE workspace_id = %s AND deleted_at IS NULL"
        )
    # Quoted names from the models; the workspace is a parameter.
    sql = " UNION ALL ".join(parts).format(**tables)
    with connection.cursor() as cursor:
        cursor.execute(sql, [workspace.pk] * len(parts))
        fetched = cursor.fetchall()
    if present is None:
        present = sorted({(key, a) for kind, key, a, _, _ in fetched if kind == "present"})
        cache.set(cache_key, present, _PRESENT_SECONDS)
    models = {key: a for kind, key, a, _, _ in fetched if kind == "model"}
    for model_id, _ in present:
        if model_id:
            models.setdefault(model_id, model_id)
    members = [
        (key, User(first_name=a, last_name=b, email=c).display_name)
        for kind, key, a, b, c in fetched
        if kind == "member"
    ]
    collections = [(key, a) for kind, key, a, _, _ in fetched if kind == "collection"]

    def by_label(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return sorted(pairs, key=lambda pair: (pair[1].casefold(), pair[0]))

    return FilterChoices(
        models=by_label(list(models.items())),
        members=by_label(members),
        collections=by_label(collections),
        providers=sorted({provider for _, provider in present if provider}),
    )


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


def catalog_names(*, workspace: Workspace) -> dict[str, str]:
    """Model id → the name the provider's catalog gives it, for labels."""
    return dict(
        CatalogModel.objects.filter(workspace=workspace).values_list("provider_model_id", "name")
    )


# --- One image: its page and lightbox ---------------------------------------------------------

# Parents deeper than this are not walked (a guard against a cycle, which nothing should make).
LINEAGE_DEPTH = 50
CHILDREN_SHOWN = 24


@dataclass(frozen=True)
class Lineage:
    ancestors: list[Image]  # the original first, the direct parent last; deleted ones included
    children: list[Image]  # edits made from this image, oldest first


def image_lineage(*, image: Image) -> Lineage:
    """The chain of parents up to the original (one recursive query, whatever its length) and
    the edits made from this image."""
    quote = connection.ops.quote_name
    table = quote(Image._meta.db_table)
    ancestors = Image.objects.raw(
        f"""
        WITH RECURSIVE chain(image_id, depth) AS (
            SELECT parent_id, 1 FROM {table} WHERE id = %s
            UNION ALL
            SELECT i.parent_id, c.depth + 1 FROM {table} i JOIN chain c ON i.id = c.image_id
            WHERE c.depth < %s
        )
        SELECT i.* FROM {table} i JOIN chain c ON i.id = c.image_id
        WHERE i.workspace_id = %s
        ORDER BY c.depth DESC
        """,  # noqa: S608 - a quoted table name from the model; values are parameters
        [image.pk, LINEAGE_DEPTH, image.workspace_id],
    )
    children = image.children.visible().order_by("created_at", "id")[:CHILDREN_SHOWN]
    return Lineage(list(ancestors), list(children))


def image_review_history(*, image: Image) -> list[ReviewEvent]:
    """Every change of the image's review state, newest first, with who made it."""
    return list(image.review_events.select_related("actor"))


def image_comments(*, image: Image) -> list[Comment]:
    return list(image.comments.select_related("author"))


def image_is_favourite(*, image: Image, user: User) -> bool:
    return Favourite.objects.filter(image=image, user=user).exists()


# How the generate form names the options a job was made with.
PARAMETER_LABELS = {
    "n": gettext_lazy("Images in the job"),
    "aspect_ratio": gettext_lazy("Aspect ratio"),
    "size": gettext_lazy("Size"),
    "output_format": gettext_lazy("Format"),
    "seed": gettext_lazy("Seed"),
}


def job_parameters(job: Job | None) -> list[tuple[str, str]]:
    """A job's parameters as (label, value) for people, provider-specific extras included."""
    if job is None:
        return []
    params = dict(job.params or {})
    extra = params.pop("extra", None)
    if isinstance(extra, dict):
        params.update({k: v for k, v in extra.items() if k not in params})
    return [
        (PARAMETER_LABELS.get(name, name.replace("_", " ").capitalize()), str(value))
        for name, value in params.items()
        if value not in (None, "", [], {})
    ]


# --- Collections, selections and the review queue ---------------------------------------------

COVER_COUNT = 4


def collection_list(*, workspace: Workspace) -> list[Collection]:
    """The workspace's collections by name, each with `image_count` and up to four
    `cover_items` (the latest added, with their images): three queries however many there are."""
    covers = (
        CollectionItem.objects.filter(image__deleted_at__isnull=True)
        .select_related("image")
        .order_by("-added_at", "-id")
    )
    visible = Q(items__image__deleted_at__isnull=True)
    return list(
        Collection.objects.filter(workspace=workspace)
        .select_related("created_by")
        .annotate(image_count=Count("items", filter=visible))
        .order_by(Lower("name"), "id")  # Meta.ordering does not apply to a GROUP BY query
        .prefetch_related(Prefetch("items", queryset=covers[:COVER_COUNT], to_attr="cover_items"))
    )


def image_collection_split(*, image: Image) -> tuple[list[Collection], list[Collection]]:
    """The collections of the image's workspace that hold `image`, and those that do not."""
    holding = CollectionItem.objects.filter(image=image, collection=OuterRef("pk"))
    choices = Collection.objects.filter(workspace_id=image.workspace_id).annotate(
        holds=Exists(holding)
    )
    inside: list[Collection] = []
    outside: list[Collection] = []
    for collection in choices.only("id", "name", "workspace_id"):
        (inside if collection.holds else outside).append(collection)
    return inside, outside


def image_selection(
    *,
    workspace: Workspace,
    user: User,
    image_ids: list[int] | None = None,
    image_filter: GalleryFilter | None = None,
) -> QuerySet[Image]:
    """What a bulk action applies to, newest first: every image of `image_filter`, or the ticked
    `image_ids` that are visible images of this workspace (any other id simply falls away)."""
    if image_filter is not None:
        images = image_filter.images(workspace=workspace, user=user)
    else:
        images = Image.objects.visible().filter(workspace=workspace, pk__in=image_ids or [])
    return images.order_by("-created_at", "-id")


@dataclass(frozen=True)
class QueueItem:
    image: Image | None
    previous: Image | None
    next: Image | None
    left: int


def review_queue_item(
    *, workspace: Workspace, user: User, image_filter: GalleryFilter, at: int | None = None
) -> QueueItem:
    """The review queue at image `at` (or its first image): the image with prompt, author and
    `is_favourite`, its neighbours in the filter's order and how many images the filter holds."""
    images = image_filter.images(workspace=workspace, user=user).select_related("author")
    order = ("-created_at", "-id") if image_filter.newest_first else ("created_at", "id")
    image = images.filter(pk=at).first() if at else None
    if image is None:
        image = images.order_by(*order).first()
    if image is None:
        return QueueItem(None, None, None, 0)
    image.workspace = workspace  # known: no query for it
    previous, following = image_neighbours(image=image, user=user, image_filter=image_filter)
    return QueueItem(image, previous, following, images.count())


def review_queue_next(
    *, workspace: Workspace, user: User, image_filter: GalleryFilter, after: Image
) -> Image | None:
    """The image to show once `after` is judged: the one after it in the filter's order (which
    `after` may have just left), else the first still waiting, else none."""
    _, following = image_neighbours(image=after, user=user, image_filter=image_filter)
    if following is not None:
        return following
    order = ("-created_at", "-id") if image_filter.newest_first else ("created_at", "id")
    images = image_filter.images(workspace=workspace, user=user).exclude(pk=after.pk)
    return images.order_by(*order).first()


# --- Comparisons ------------------------------------------------------------------------------

COMPARISONS_SHOWN = 20


@dataclass(frozen=True)
class ComparisonPage:
    comparisons: list[Comparison]  # each with `listed_jobs`, each job with `visible_images`
    next_before: int | None  # the `before` of the next (older) page


def comparison_page(
    *, workspace: Workspace, before: int | None = None, size: int = COMPARISONS_SHOWN
) -> ComparisonPage:
    """The workspace's comparisons, newest first, keyset-paginated on id, with their jobs and
    images for the thumbnails: three queries however many there are."""
    jobs = Job.objects.order_by("pk").prefetch_related(
        Prefetch(
            "images", queryset=Image.objects.visible().order_by("id"), to_attr="visible_images"
        )
    )
    comparisons = Comparison.objects.filter(workspace=workspace)
    if before is not None:
        comparisons = comparisons.filter(pk__lt=before)
    rows: list[Comparison] = list(
        comparisons.select_related("author")
        .prefetch_related(Prefetch("jobs", queryset=jobs, to_attr="listed_jobs"))
        .order_by("-id")[: size + 1]
    )
    more = len(rows) > size
    rows = rows[:size]
    return ComparisonPage(rows, rows[-1].pk if more else None)


def comparison_jobs(*, comparison: Comparison) -> list[Job]:
    """The comparison's jobs in the order its models were picked, as the job cards need them."""
    jobs = list(_with_images(comparison.jobs.all()).order_by("pk"))
    if any(job.state == JobState.QUEUED for job in jobs):
        _set_queue_positions(comparison.workspace, jobs)
    return jobs


def favourite_ids(*, user: User, images: list[Image]) -> set[int]:
    """Which of `images` are `user`'s favourites (one query)."""
    return set(
        Favourite.objects.filter(user=user, image__in=images).values_list("image_id", flat=True)
    )


def budget_request_count_pending(*, workspace: Workspace) -> int:
    return BudgetRequest.objects.filter(workspace=workspace, state=RequestState.PENDING).count()


# --- A workspace as a whole (Settings · Workspace: export, delete) ----------------------------


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
