"""Reads about images: gallery pages (keyset cursor, filters), an image's neighbours and lineage,
selections and collections."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.core.cache import cache
from django.db import connection
from django.db.models import (
    BooleanField,
    Count,
    Exists,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower

from accounts.models import Membership, User, Workspace
from gallery.filters import FilterChoices, GalleryFilter
from gallery.models import (
    CatalogModel,
    Collection,
    CollectionItem,
    Image,
)

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
