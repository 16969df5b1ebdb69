"""The gallery grid's tiles: justified rows that keep each image's aspect ratio.

The strict CSP forbids `style` attributes, so a tile cannot carry its own ratio. Ratios are
rounded to steps of 2 % (on a log scale: 1.02 ** k) and each step is a class in app.css that sets
`--r`; a tile then grows in proportion to its ratio, so every tile in a row has the same height,
and an image is cropped by at most 1 %.
"""

from __future__ import annotations

import math

from django import template

from gallery.models import Image

register = template.Library()

RATIO_STEP = 1.02
# 1.02 ** 60 ≈ 3.28: a wider (or, as 1 / 3.28, taller) image is shown at that ratio, cropped.
MAX_STEPS = 60


def ratio_step(width: int | None, height: int | None) -> int:
    """The step k, in -MAX_STEPS..MAX_STEPS, whose ratio 1.02 ** k is nearest width / height
    (0, square, when the size is not known yet)."""
    if not width or not height:
        return 0
    step = round(math.log(width / height) / math.log(RATIO_STEP))
    return max(-MAX_STEPS, min(MAX_STEPS, step))


def ratio_class(step: int) -> str:
    return f"ar-{step}" if step >= 0 else f"ar-n{-step}"


@register.filter
def aspect_class(image: Image) -> str:
    """`<div class="tile {{ image|aspect_class }}">`: the class holding the image's ratio."""
    return ratio_class(ratio_step(image.width, image.height))


def ratio_css() -> str:
    """The classes' rules, as app.css holds them (a test checks that it does)."""
    return "\n".join(
        f".{ratio_class(k)} {{ --r: {RATIO_STEP**k:.4f}; }}"
        for k in range(-MAX_STEPS, MAX_STEPS + 1)
    )
