"""Images with real files in storage, made straight in the database (no provider, no job)."""

from __future__ import annotations

import io

from django.core.files.base import ContentFile
from PIL import Image as Pillow

from accounts.models import User, Workspace
from gallery.models import Image


def png_bytes(
    width: int = 4,
    height: int = 3,
    colour: tuple[int, int, int] = (200, 80, 20),
    format: str = "PNG",
) -> bytes:
    out = io.BytesIO()
    Pillow.new("RGB", (width, height), colour).save(out, format=format)
    return out.getvalue()


def picture(
    workspace: Workspace,
    *,
    author: User | None = None,
    prompt: str = "a lighthouse at dusk",
    content: bytes | None = None,
    model_id: str = "nano-banana-2",
    size: tuple[int, int] = (4, 3),
    colour: tuple[int, int, int] = (200, 80, 20),
    **fields: object,
) -> Image:
    """An image of `workspace` with an original and a thumbnail in storage."""
    width, height = size
    data = png_bytes(width, height, colour) if content is None else content
    image = Image.objects.create(
        workspace=workspace,
        author=author,
        prompt=prompt,
        model_id=model_id,
        format="png",
        width=width,
        height=height,
        bytes=len(data),
        **fields,
    )
    image.file.save(f"{image.pk}.png", ContentFile(data), save=False)
    # Named and encoded as gallery.ingest stores thumbnails (the signed fast path serves those).
    image.thumbnail.save(
        f"{image.pk}.thumb.webp",
        ContentFile(png_bytes(256, 256 * height // width, colour, format="WEBP")),
        save=False,
    )
    image.save(update_fields=["file", "thumbnail"])
    return image
