"""Images with known facts (and real thumbnail files) for gallery tests."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable

from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image as PILImage

from accounts.models import User, Workspace
from gallery.models import Image

_COLOURS = ["#c2410c", "#2563eb", "#15803d", "#a16207", "#7c3aed", "#0f766e", "#be123c"]


def png(width: int, height: int, colour: str, format: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    PILImage.new("RGB", (width, height), colour).save(buffer, format)
    return buffer.getvalue()


def make_image(
    workspace: Workspace,
    author: User | None,
    prompt: str,
    *,
    days_ago: float = 0,
    width: int = 1024,
    height: int = 1024,
    thumbnail: bool = False,
    **fields: object,
) -> Image:
    """An image made `days_ago`; with `thumbnail`, a small PNG of the image's ratio."""
    image = Image.objects.create(
        workspace=workspace, author=author, prompt=prompt, width=width, height=height, **fields
    )
    created = timezone.now() - dt.timedelta(days=days_ago)
    Image.objects.filter(pk=image.pk).update(created_at=created)
    image.created_at = created
    if thumbnail:
        scale = 256 / max(width, height)
        colour = _COLOURS[image.pk % len(_COLOURS)]
        size = max(1, round(width * scale)), max(1, round(height * scale))
        data = png(*size, colour, format="WEBP")
        image.thumbnail.save(f"{image.pk}.thumb.webp", ContentFile(data))  # as ingest names it
    return image


def make_many(
    workspace: Workspace, authors: Iterable[User | None], count: int, *, thumbnail: bool = False
) -> list[Image]:
    """`count` images of assorted ratios (squares, 16:9, 3:4, 21:9 panoramas…), oldest first."""
    sizes = [(1024, 1024), (1920, 1080), (768, 1024), (2520, 1080), (1024, 768), (832, 1216)]
    subjects = ["lighthouse at dusk", "fox in the snow", "city at night", "a bowl of lemons"]
    authors = list(authors)
    return [
        make_image(
            workspace,
            authors[i % len(authors)],
            f"{subjects[i % len(subjects)]}, study {i}",
            days_ago=(count - i) / 24,
            width=sizes[i % len(sizes)][0],
            height=sizes[i % len(sizes)][1],
            thumbnail=thumbnail,
        )
        for i in range(count)
    ]
