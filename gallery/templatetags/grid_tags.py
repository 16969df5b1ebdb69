"""The gallery grid's tiles: justified rows that keep each image's aspect ratio.

The strict CSP forbids `style` attributes, so a tile cannot carry its own ratio. Ratios are
rounded to steps of 2 % (on a log scale: 1.02 ** k) and each step is a class in app.css that sets
`--r`; a tile then grows in proportion to its ratio, so every tile in a row has the same height,
and an image is cropped by at most 1 %.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Iterable

from django import template
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator, add_truncation_text, calculate_truncate_chars_length
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from gallery.fast_html import escape
from gallery.models import Image, ImageSource, ReviewState
from gallery.templatetags.gallery_tags import issued_thumbnail_url

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


# --- The tiles ------------------------------------------------------------------------------
# A page's 48 tiles are built here in Python, not in the template: as template markup they were
# ~1,800 variable lookups, 48 `{% url %}`s and 48 `truncatechars` (≈7 ms of a ≈15 ms page). The
# markup is the template's, byte for byte apart from blank lines; every value goes through
# `escape()` (gallery.fast_html's: Django's output without its lazy-string wrapper).


_TILE = (
    '<article class="tile {aspect}" data-image="{pk}">\n'
    '  <input type="checkbox" name="image" value="{pk}" form="bulk-form" class="tile-select"'
    ' aria-label="{select_label}">\n'
    '  <a class="tile-link" href="{link}" hx-get="{link}" hx-target="#lightbox"'
    ' hx-swap="innerHTML">\n'
    '    <span class="tile-media">\n'
    "      {media}\n"
    "{marks}"
    "    </span>\n"
    '    <span class="tile-caption">\n'
    '      <span class="tile-prompt">{prompt}</span>\n'
    '      <span class="tile-author">{author}</span>\n'
    "    </span>\n"
    "  </a>\n"
    "</article>\n"
)
# get_review_state_display()'s labels: Django rebuilds this dict on every call.
_REVIEW_LABELS = dict(ReviewState.choices)
_FAVOURITE = (
    '      <span class="tile-fav" title="{title}"><span aria-hidden="true">♥</span>'
    '<span class="visually-hidden">{label}</span></span>\n'
)


def truncation_text() -> str:
    """The translated ellipsis Django's Truncator uses (django.utils.text.add_truncation_text),
    looked up once a page rather than twice a tile."""
    return pgettext("String to return when truncating text", "%(truncated_text)s…")


def truncate_chars(text: str, length: int, ellipsis: str | None = None) -> str:
    """`text|truncatechars:length`, without the Truncator's walk through the text in Python
    (≈13 µs a long prompt, 48 a page) where it cannot matter: within `length` code points the
    NFC text is returned unchanged, and text without combining marks (which it does not count)
    is cut where it would cut it. `ellipsis`: `truncation_text()`, if already looked up."""
    text = unicodedata.normalize("NFC", text)
    if len(text) <= length:
        return text
    if any(map(unicodedata.combining, text)):
        return Truncator(text).chars(length)
    ellipsis = ellipsis or truncation_text()
    return add_truncation_text(text[: calculate_truncate_chars_length(length, ellipsis)], ellipsis)


@register.simple_tag(takes_context=True)
def gallery_tiles(context: template.Context, images: Iterable[Image]) -> SafeString:
    """`{% gallery_tiles page.images %}`: the grid's tiles (context: workspace, user,
    filter_query)."""
    slug = context["workspace"].slug
    # One reverse() for all tiles (~40 µs each): the detail URL with the pk cut out.
    head, cut, tail = reverse("gallery:image_detail", args=[slug, 0]).rpartition("/0/")
    assert cut, "the detail URL ends in its pk"
    head = escape(head)
    query = context.get("filter_query")
    suffix = escape(f"/{tail}?{query}" if query else f"/{tail}")
    user_pk = context["user"].pk
    ellipsis = truncation_text()
    # Translated once a page, not once a tile.
    select_text = _("Select “%(prompt)s”")
    favourite = _FAVOURITE.format(
        title=escape(_("In your favourites")), label=escape(_("Favourite"))
    )
    no_prompt = escape(_("(no prompt)"))
    parts = []
    for image in images:
        pk = image.pk
        if image.thumbnail:
            media = (
                f'<img src="{escape(issued_thumbnail_url(context, image))}" alt="" loading="lazy"'
                f' width="{escape(image.width or 256)}" height="{escape(image.height or 256)}">'
            )
        else:
            pending = (
                _("Could not fetch this image")
                if image.file_error
                else _("Fetching from the provider…")
            )
            media = f'<span class="tile-pending">{pending}</span>'
        marks = favourite if getattr(image, "is_favourite", False) else ""
        if image.review_state != ReviewState.UNREVIEWED:
            marks += (
                f'      <span class="badge tile-review review-{escape(image.review_state)}">'
                f"{escape(_REVIEW_LABELS.get(image.review_state, image.review_state))}</span>\n"
            )
        if image.source == ImageSource.HISTORY:
            author = _("Provider history")
        elif image.author_id == user_pk:
            author = _("You")
        elif image.author_id:
            # selectors.image_page reads the name with the row (no query per tile).
            author = escape(image.author_name)  # type: ignore[attr-defined]
        else:
            author = _("A former member")
        parts.append(
            _TILE.format(
                aspect=aspect_class(image),
                pk=pk,
                select_label=escape(
                    select_text % {"prompt": truncate_chars(image.prompt, 40, ellipsis)}
                ),
                link=f"{head}/{pk}{suffix}",
                media=media,
                marks=marks,
                prompt=escape(image.prompt) if image.prompt else no_prompt,
                author=author,
            )
        )
    return mark_safe("".join(parts))  # noqa: S308 - built above from escaped values
