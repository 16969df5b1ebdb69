"""Collections, the team's boards: create, rename, delete, and put images in and out.

Members organise; viewers only look. Each function checks that itself, so the collections page,
an image's page and a bulk action cannot disagree. Names are unique per workspace, ignoring
case ("Logo ideas" and "logo ideas" are one board).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from accounts.models import Membership, Workspace
from gallery.models import Collection, CollectionItem, Image

NAME_MAX_LENGTH = Collection._meta.get_field("name").max_length or 100


def _require_organiser(membership: Membership) -> None:
    if not membership.can_write:
        raise PermissionDenied(_("Viewers can look at collections, but not change them."))


def _clean_name(*, workspace: Workspace, name: str, exclude: Collection | None = None) -> str:
    name = " ".join(name.split())
    if not name:
        raise ValidationError(_("Give the collection a name."))
    if len(name) > NAME_MAX_LENGTH:
        raise ValidationError(
            _("Keep the name under %(NAME_MAX_LENGTH)s characters.")
            % {"NAME_MAX_LENGTH": NAME_MAX_LENGTH}
        )
    taken = Collection.objects.filter(workspace=workspace, name__iexact=name)
    if exclude is not None:
        taken = taken.exclude(pk=exclude.pk)
    existing = taken.values_list("name", flat=True).first()
    if existing is not None:
        raise ValidationError(_name_taken(existing))
    return name


def _name_taken(existing: str) -> str:
    return _("There is already a collection called “%(name)s” (names ignore case).") % {
        "name": existing
    }


def _save_name(collection: Collection, name: str) -> None:
    try:
        with transaction.atomic():
            collection.save()
    except IntegrityError:
        # Someone else took the name between the check and the save (the constraint is the truth).
        raise ValidationError(_name_taken(name)) from None


def collection_create(*, membership: Membership, name: str) -> Collection:
    _require_organiser(membership)
    workspace = membership.workspace
    name = _clean_name(workspace=workspace, name=name)
    collection = Collection(workspace=workspace, name=name, created_by=membership.user)
    _save_name(collection, name)
    return collection


def collection_rename(*, collection: Collection, membership: Membership, name: str) -> Collection:
    _require_organiser(membership)
    name = _clean_name(workspace=collection.workspace, name=name, exclude=collection)
    collection.name = name
    _save_name(collection, name)
    return collection


def collection_delete(*, collection: Collection, membership: Membership) -> None:
    """The board goes; its images stay in the gallery (and in any other collection)."""
    _require_organiser(membership)
    collection.delete()


def collection_add(
    *, collection: Collection, membership: Membership, images: Iterable[Image]
) -> int:
    """Put `images` (of the collection's workspace) in the collection; returns how many were not
    in it yet. Images of another workspace are ignored."""
    _require_organiser(membership)
    items = [
        CollectionItem(collection=collection, image=image, added_by=membership.user)
        for image in images
        if image.workspace_id == collection.workspace_id
    ]
    before = collection.items.count()
    CollectionItem.objects.bulk_create(items, ignore_conflicts=True, batch_size=500)
    added = collection.items.count() - before
    if added:
        collection.save(update_fields=["updated_at"])
    return added


def collection_remove(
    *, collection: Collection, membership: Membership, images: Iterable[Image]
) -> int:
    """Take `images` out of the collection (they stay in the gallery); returns how many were
    in it."""
    _require_organiser(membership)
    pks = [image.pk for image in images]
    removed = 0
    for start in range(0, len(pks), 500):
        deleted, _ = CollectionItem.objects.filter(
            collection=collection, image_id__in=pks[start : start + 500]
        ).delete()
        removed += deleted
    if removed:
        collection.save(update_fields=["updated_at"])
    return removed
