"""Real pictures from Pillow: distinct per prompt, identical bytes for the same prompt and seed."""

from __future__ import annotations

import hashlib
import io
import random
import textwrap
from functools import cache

from PIL import Image, ImageDraw, ImageFont

# Long side of neuroflash renders: modest, so a test suite generating many images stays fast.
LONG_SIDE = 1024

FORMATS: dict[str, tuple[str, str]] = {
    "png": ("PNG", "image/png"),
    "jpeg": ("JPEG", "image/jpeg"),
    "webp": ("WEBP", "image/webp"),
}


def content_type(fmt: str) -> str:
    return FORMATS[fmt][1]


def size_for_aspect_ratio(ratio: str, long_side: int = LONG_SIDE) -> tuple[int, int]:
    """`16:9` -> (1024, 576); the short side is rounded to a multiple of 8 like real models do."""
    w, h = (int(part) for part in ratio.split(":"))
    if w >= h:
        return long_side, max(8, round(long_side * h / w / 8) * 8)
    return max(8, round(long_side * w / h / 8) * 8), long_side


def parse_resolution(value: str) -> tuple[int, int]:
    """`1024x768` -> (1024, 768); anything symbolic (`auto`) renders square."""
    width, sep, height = value.lower().partition("x")
    if sep and width.isdigit() and height.isdigit():
        return int(width), int(height)
    return LONG_SIDE, LONG_SIDE


# Pillow's bundled font draws no umlauts (a box for "ä"); DejaVu Sans (Debian's fonts-dejavu,
# which Chromium brings along) does. Without it, German letters are spelled out instead.
_SPELLED_OUT = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"}
)


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.truetype("DejaVuSans.ttf", size)  # found in the system's font folders
    except OSError:
        return ImageFont.load_default(size=size)


def _drawable(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont) -> str:
    path = getattr(font, "path", None)  # Pillow's own font has a buffer here, not a file name
    if isinstance(path, str) and path.endswith("DejaVuSans.ttf"):
        return text
    return text.translate(_SPELLED_OUT)


def _rng(prompt: str, seed: int) -> random.Random:
    digest = hashlib.sha256(f"{seed}\x00{prompt}".encode()).digest()
    return random.Random(digest)


def _colour(rng: random.Random, alpha: int | None = None) -> tuple[int, ...]:
    rgb = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
    return rgb if alpha is None else (*rgb, alpha)


def _picture(prompt: str, seed: int, width: int, height: int) -> Image.Image:
    rng = _rng(prompt, seed)
    # A two-colour gradient at a prompt-chosen angle, then a handful of translucent shapes.
    # Crop the rotated gradient's centre so no empty corners show.
    mask = Image.linear_gradient("L").resize((512, 512)).rotate(rng.randrange(360))
    mask = mask.crop((76, 76, 436, 436)).resize((width, height), Image.Resampling.BILINEAR)
    start = Image.new("RGB", (width, height), _colour(rng))
    end = Image.new("RGB", (width, height), _colour(rng))
    picture = Image.composite(start, end, mask).convert("RGBA")

    overlay = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for _ in range(rng.randint(5, 10)):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        x1 = x0 + rng.randint(width // 10, width // 2)
        y1 = y0 + rng.randint(height // 10, height // 2)
        fill = _colour(rng, alpha=rng.randint(90, 200))
        kind = rng.choice(("ellipse", "rectangle", "triangle"))
        if kind == "ellipse":
            draw.ellipse((x0, y0, x1, y1), fill=fill)
        elif kind == "rectangle":
            draw.rectangle((x0, y0, x1, y1), fill=fill)
        else:
            draw.polygon([(x0, y1), ((x0 + x1) // 2, y0), (x1, y1)], fill=fill)
    return Image.alpha_composite(picture, overlay)


def _caption(picture: Image.Image, prompt: str, seed: int) -> None:
    width, height = picture.size
    font_size = max(12, min(width, height) // 28)
    font = _font(font_size)
    chars_per_line = max(12, int(width / (font_size * 0.55)))
    lines = textwrap.wrap(prompt, chars_per_line)[:3] or ["(empty prompt)"]
    lines.append(f"seed {seed} · {width}x{height}")
    band = (font_size + 6) * len(lines) + 12
    draw = ImageDraw.Draw(picture)
    draw.rectangle((0, height - band, width, height), fill=(0, 0, 0, 170))
    for i, line in enumerate(lines):
        y = height - band + 6 + i * (font_size + 6)
        draw.text((10, y), _drawable(line, font), font=font, fill="white")


def render(
    prompt: str,
    seed: int,
    width: int,
    height: int,
    fmt: str,
    *,
    source: bytes | None = None,
) -> bytes:
    """Encode a picture for `prompt`; with `source`, the result is visibly derived from it."""
    picture = _picture(prompt, seed, width, height)
    if source is not None:
        with Image.open(io.BytesIO(source)) as original:
            base = original.convert("RGBA").resize((width, height), Image.Resampling.BILINEAR)
        picture = Image.blend(base, picture, 0.45)
    _caption(picture, prompt, seed)

    pil_format = FORMATS[fmt][0]
    buffer = io.BytesIO()
    if pil_format == "PNG":
        # Low compression: the sandbox is about speed, and the bytes are still deterministic.
        picture.save(buffer, "PNG", compress_level=1)
    elif pil_format == "JPEG":
        picture.convert("RGB").save(buffer, "JPEG", quality=85)
    else:
        picture.save(buffer, "WEBP", quality=80, method=0)
    return buffer.getvalue()
