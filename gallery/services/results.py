"""From what a provider returned for a job to stored Image rows.

Fetching, checking and storing the files is ``gallery.ingest``'s, the same path the history
mirror takes; its ``IngestError`` (with ``transient``) reaches the runner unchanged.
"""

from __future__ import annotations

import base64
from typing import Any

from django.db import IntegrityError, transaction

from gallery import ingest
from gallery.models import Image, ImageSource, Job
from providers import GenerationResult, ImageProvider


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


def store_results(*, job: Job, provider: ImageProvider) -> list[Image]:
    """Download, verify and store every image of the job's result; safe to repeat.

    Raises ``ingest.IngestError`` for the first image that cannot be stored (the ones before it
    stay stored, so the next try goes on from there).
    """
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
        image = Image(
            workspace_id=job.workspace_id,
            job=job,
            author_id=job.author_id,
            source=ImageSource.JOB,
            provider=job.workspace.credential.kind,
            parent_id=job.parent_image_id,
            prompt=job.prompt,
            model_id=job.model_id,
            provider_image_id=image_id,
            provider_url=ref.get("relative_url") or "",
        )
        ingest.ingest_image(
            image,
            provider,
            data=base64.b64decode(ref["data"]) if ref.get("data") else None,
            url=ref.get("url") or "",
            image_id=image_id,
        )
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
