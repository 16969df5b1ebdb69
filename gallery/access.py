"""Object access for gallery views: one helper per kind, 404 for anything outside the workspace."""

from __future__ import annotations

from django.http import Http404

from accounts.models import Membership
from gallery.models import Collection, Image, Job


def get_job(membership: Membership, job_id: int) -> Job:
    job = (
        Job.objects.select_related("author", "parent_image")
        .filter(pk=job_id, workspace=membership.workspace)
        .first()
    )
    if job is None:
        raise Http404("No such job")
    return job


def get_image(membership: Membership, image_id: int) -> Image:
    image = (
        Image.objects.visible()
        .select_related("author", "parent", "job")
        .filter(pk=image_id, workspace=membership.workspace)
        .first()
    )
    if image is None:
        raise Http404("No such image")
    return image


def get_collection(membership: Membership, collection_id: int) -> Collection:
    collection = Collection.objects.filter(pk=collection_id, workspace=membership.workspace).first()
    if collection is None:
        raise Http404("No such collection")
    return collection
