"""Deleting images: at once here, and at the provider in the background."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.connection import CredentialUnusable, provider_for
from accounts.models import Membership
from config.celery import send_task_on_commit
from gallery.models import Image
from providers import NotFoundError


def image_can_delete(*, image: Image, membership: Membership) -> bool:
    """Only the author (while still allowed to write) or a workspace admin."""
    return membership.is_admin or (image.author_id == membership.user_id and membership.can_write)


def image_delete(*, image: Image, membership: Membership) -> None:
    """Delete here at once; the provider's copy goes in the background."""
    if not image_can_delete(image=image, membership=membership):
        raise PermissionDenied(_("Only the person who made this image or an admin can delete it."))
    Image.objects.filter(pk=image.pk, deleted_at__isnull=True).update(deleted_at=timezone.now())
    image.file.delete(save=False)
    image.thumbnail.delete(save=False)
    Image.objects.filter(pk=image.pk).update(file="", thumbnail="")
    if image.provider_image_id:
        send_task_on_commit("gallery.tasks.delete_at_provider", image.pk)


def image_delete_at_provider(*, image_id: int) -> None:
    """Raises transient ProviderErrors for the task to retry; a 404 means already gone."""
    image = Image.objects.select_related("workspace__credential").filter(pk=image_id).first()
    if image is None or not image.provider_image_id:
        return
    try:
        with provider_for(image.workspace.credential) as provider:
            if not provider.capabilities.has_delete:
                return  # nothing to delete there (NanoGPT keeps no history)
            provider.delete_image(image.provider_image_id)
    except NotFoundError:
        pass  # already gone at the provider: that is what we wanted
    except CredentialUnusable:
        return
