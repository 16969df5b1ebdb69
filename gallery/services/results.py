"""From what a provider returned to stored Image rows (with the same guards for every source)."""

from __future__ import annotations

import base64
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from gallery import ingest
from gallery.models import Image, ImageSource, Job
from providers import GenerationResult, ImageProvider, ProviderError
from providers.netguard import NetworkPolicy


class IngestFailed(Exception):
    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient


def refs_for(result: GenerationResult) -> list[dict[str, Any]]:
    """What a job records of a paid result before downloading anything. Images sent inline
    (base64) are kept in the record too: paid for, they must survive a failed store."""
    return [
        {
            "id": image.provider_image_id or "",
            "url": image.url,
            "content_type": image.content_type,
            "relative_url": image.relative_url or "",
            **({"data": base64.b64encode(image.data).decode()} if image.data else {}),
        }
        for image in result.images
    ]


def download_network(provider: ImageProvider) -> NetworkPolicy:
    """Where result images may come from besides public hosts: the provider's own hosts (the
    sandbox, a test server) and the non-public storage hosts the operator allowed."""
    return NetworkPolicy.allowing([*provider.hosts, *settings.PROVIDER_DOWNLOAD_HOSTS])


def _content_for(ref: dict[str, Any], provider: ImageProvider) -> bytes:
    """The image's bytes: inline, else from its URL, else from the provider's authenticated
    view route (a storage host that is not allowed or fails must not lose a paid image)."""
    if ref.get("data"):
        return base64.b64decode(ref["data"])
    failed: IngestFailed | None = None
    if ref.get("url"):
        try:
            return ingest.download_image(
                ref["url"],
                network=download_network(provider),
                max_bytes=settings.IMAGE_MAX_BYTES,
                timeout=(settings.PROVIDER_CONNECT_TIMEOUT, settings.PROVIDER_READ_TIMEOUT),
            )
        except ingest.IngestError as exc:
            failed = IngestFailed(str(exc), transient=exc.transient)
    if ref.get("id") and provider.capabilities.has_get_image:
        try:
            return provider.get_image_content(ref["id"]).content
        except ProviderError as exc:
            # Worth another try if either way might work later.
            transient = exc.transient or bool(failed and failed.transient)
            raise IngestFailed(exc.message, transient=transient) from None
    raise failed or IngestFailed(
        "the provider returned no image data and no way to fetch it", transient=False
    )


def store_results(*, job: Job, provider: ImageProvider) -> list[Image]:
    """Download, verify and store every image of the job's result; safe to repeat."""
    stored: list[Image] = []
    done_ids = set(
        job.images.exclude(provider_image_id="").values_list("provider_image_id", flat=True)
    )
    anonymous_done = job.images.filter(provider_image_id="").count()
    anonymous_seen = 0
    for ref in job.result_refs:
        image_id = ref.get("id") or ""
        if image_id and image_id in done_ids:
            continue
        if not image_id:
            anonymous_seen += 1
            if anonymous_seen <= anonymous_done:
                continue
        content = _content_for(ref, provider)
        image = Image(
            workspace_id=job.workspace_id,
            job=job,
            author_id=job.author_id,
            source=ImageSource.JOB,
            parent_id=job.parent_image_id,
            prompt=job.prompt,
            model_id=job.model_id,
            provider_image_id=image_id,
            provider_url=ref.get("relative_url") or "",
        )
        try:
            ingest.verify_and_store(image, content)
        except ingest.IngestError as exc:
            raise IngestFailed(str(exc), transient=False) from None
        try:
            with transaction.atomic():
                image.save()
        except IntegrityError:
            # The history mirror stored this provider image first: link it to the job instead.
            # An image another job already has is never taken from it.
            Image.objects.filter(
                workspace_id=job.workspace_id, provider_image_id=image_id, job__isnull=True
            ).update(job=job, author_id=job.author_id, source=ImageSource.JOB)
            image.file.delete(save=False)
            image.thumbnail.delete(save=False)
            continue
        stored.append(image)
    return stored
