"""Bulk actions on a selection of images: review, favourite, collect, delete, download as a ZIP.

Each follows the rules of its one-image service (`review_check`, `image_can_delete`, the
collection services) and leaves the same records (a ReviewEvent per changed image), in a few
queries per batch rather than a few per image, so "select all 5,000 in this filter" stays quick.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import Membership
from config.storage import open_stream
from gallery.models import Collection, Favourite, Image, ReviewEvent
from gallery.services.collections import collection_add, collection_remove
from gallery.services.images import image_can_delete, image_delete
from gallery.services.review import review_check

BATCH = 500


@dataclass(frozen=True)
class BulkResult:
    done: int
    skipped: int = 0


def _pks(images: QuerySet[Image]) -> list[int]:
    return list(images.values_list("pk", flat=True))


def _batches(pks: list[int], size: int = BATCH) -> Iterator[list[int]]:
    for start in range(0, len(pks), size):
        yield pks[start : start + size]


def bulk_review(
    *, images: QuerySet[Image], membership: Membership, to_state: str, note: str = ""
) -> BulkResult:
    """Move every image to `to_state` as `image_review` would, one ReviewEvent per change;
    images already there (with no note to add) are counted as skipped."""
    note = review_check(membership=membership, to_state=to_state, note=note)
    changed = skipped = 0
    with transaction.atomic():
        for batch in _batches(_pks(images)):
            # Locked, so a reviewer working at the same time cannot slip between read and write.
            rows = (
                Image.objects.select_for_update()
                .filter(pk__in=batch)
                .values_list("pk", "review_state")
            )
            events = [
                ReviewEvent(
                    image_id=pk,
                    actor=membership.user,
                    from_state=from_state,
                    to_state=to_state,
                    note=note,
                )
                for pk, from_state in rows
                if from_state != to_state or note
            ]
            Image.objects.filter(pk__in=[e.image_id for e in events]).update(review_state=to_state)
            ReviewEvent.objects.bulk_create(events)
            changed += len(events)
            skipped += len(batch) - len(events)
    return BulkResult(changed, skipped)


def bulk_favourite(*, images: QuerySet[Image], membership: Membership) -> BulkResult:
    """Make every image one of this member's favourites (viewers may, too)."""
    pks = _pks(images)
    before = Favourite.objects.filter(user=membership.user, image_id__in=pks).count()
    for batch in _batches(pks):
        Favourite.objects.bulk_create(
            [Favourite(image_id=pk, user=membership.user) for pk in batch], ignore_conflicts=True
        )
    return BulkResult(len(pks) - before, before)


def bulk_collect(
    *, images: QuerySet[Image], membership: Membership, collection: Collection
) -> BulkResult:
    selected = list(images.only("pk", "workspace_id"))
    added = collection_add(collection=collection, membership=membership, images=selected)
    return BulkResult(added, len(selected) - added)


def bulk_uncollect(
    *, images: QuerySet[Image], membership: Membership, collection: Collection
) -> BulkResult:
    selected = list(images.only("pk", "workspace_id"))
    removed = collection_remove(collection=collection, membership=membership, images=selected)
    return BulkResult(removed, len(selected) - removed)


def bulk_delete(*, images: QuerySet[Image], membership: Membership) -> BulkResult:
    """Delete the images this member may delete (their own; an admin any); skip the rest."""
    deleted = skipped = 0
    for image in images.iterator(chunk_size=BATCH):
        if image_can_delete(image=image, membership=membership):
            image_delete(image=image, membership=membership)
            deleted += 1
        else:
            skipped += 1
    return BulkResult(deleted, skipped)


# --- Download as a ZIP ------------------------------------------------------------------------

MANIFEST_COLUMNS = (
    "file",
    "prompt",
    "model",
    "model_name",
    "author",
    "review_state",
    "created",
)
READ_SIZE = 64 * 1024


def zip_entry_name(image: Image) -> str:
    """`<id>-<prompt-as-slug>.<format>`: unique in the archive, and says what it shows."""
    extension = image.format or (image.file.name or "").rpartition(".")[2] or "png"
    words = slugify(image.prompt)[:48].strip("-") or "image"
    return f"{image.pk}-{words}.{extension.lower()}"


class ZipPipe(io.RawIOBase):
    """Where ZipFile writes; holds only what was written since the generator last yielded.

    Not seekable, so ZipFile writes each entry's sizes after its data (a data descriptor)
    rather than seeking back to the header: nothing needs to stay in memory for that.
    """

    def __init__(self) -> None:
        super().__init__()
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self._parts.append(bytes(data))
        return len(data)

    def drain(self) -> Iterator[bytes]:
        """What was written since the last drain, as one piece (none when nothing was)."""
        if self._parts:
            data = b"".join(self._parts)
            self._parts.clear()
            yield data


def _images_in_order(pks: list[int]) -> Iterator[Image]:
    for batch in _batches(pks, 200):
        found = Image.objects.select_related("author").in_bulk(batch)
        yield from (found[pk] for pk in batch if pk in found)


def images_zip(
    *, images: QuerySet[Image], model_names: Mapping[str, str] | None = None
) -> Iterator[bytes]:
    """The images' originals and a `manifest.csv` as a ZIP, yielded in pieces as it is written.

    Stored, not compressed (PNG, JPEG and WebP are compressed already); each original is read
    from storage in chunks, so memory stays flat however large the selection. Images without
    a file (still being fetched, or missing from storage) are left out of the archive and of
    the manifest. `model_names` (catalog id → name) label the models as the pages do.
    """
    pks = _pks(images)  # fixed now: the manifest describes exactly the files written
    written: set[int] = set()
    pipe = ZipPipe()
    with zipfile.ZipFile(pipe, mode="w", compression=zipfile.ZIP_STORED) as archive:
        for image in _images_in_order(pks):
            if not image.file:
                continue
            try:
                source = open_stream(image.file)
            except FileNotFoundError:
                continue
            info = zipfile.ZipInfo(
                zip_entry_name(image),
                date_time=timezone.localtime(image.created_at).timetuple()[:6],
            )
            info.file_size = image.bytes or 0  # only decides whether ZIP64 is needed
            with source, archive.open(info, mode="w") as entry:
                while chunk := source.read(READ_SIZE):
                    entry.write(chunk)
                    yield from pipe.drain()
            written.add(image.pk)
            yield from pipe.drain()
        with archive.open("manifest.csv", mode="w") as entry:
            entry.write(csv_line(MANIFEST_COLUMNS))
            for image in _images_in_order([pk for pk in pks if pk in written]):
                entry.write(csv_line(_manifest_row(image, model_names or {})))
                yield from pipe.drain()
    yield from pipe.drain()


def _manifest_row(image: Image, model_names: Mapping[str, str]) -> tuple[str, ...]:
    author = image.author.display_name if image.author else image.get_source_display()
    return (
        zip_entry_name(image),
        image.prompt,
        image.model_id,
        model_names.get(image.model_id, image.model_id),
        author,
        image.review_state,
        timezone.localtime(image.created_at).isoformat(timespec="seconds"),
    )


# A cell starting with one of these is a formula to a spreadsheet: a prompt like "=HYPERLINK(…)"
# would run when someone opens the manifest. A leading apostrophe keeps it text.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_line(values: tuple[str, ...]) -> bytes:
    line = io.StringIO()
    csv.writer(line).writerow(["'" + v if v.startswith(_FORMULA_STARTS) else v for v in values])
    return line.getvalue().encode()
