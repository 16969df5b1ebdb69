"""The gallery's fast paths give Django's answers: gallery.fast_html escapes as
django.utils.html does, the tiles truncate as `truncatechars`."""

from __future__ import annotations

import pytest
from django.template.defaultfilters import truncatechars
from django.utils import html as django_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from gallery import fast_html
from gallery.templatetags.grid_tags import truncate_chars, truncation_text


@pytest.mark.parametrize(
    "value",
    ['<script>alert("1")</script>', "it's & <b>", 42, None, mark_safe("<b>ok</b>"),
     gettext_lazy("Any <model>")],
)  # fmt: skip
def test_the_same_as_djangos(value):
    assert fast_html.escape(value) == django_html.escape(value)
    assert fast_html.conditional_escape(value) == django_html.conditional_escape(value)


@pytest.mark.parametrize(
    "text",
    ["", "short", "x" * 40, "y" * 41, "a long prompt about a lighthouse at dusk, in fog " * 3,
     "e\u0301" * 45, "Cafe\u0301 " * 12, "<b>&amp;</b> " * 9, "…" * 50],
)  # fmt: skip
@pytest.mark.parametrize("length", [1, 2, 40])
def test_tiles_truncate_as_truncatechars(text, length):
    assert truncate_chars(text, length) == truncatechars(text, length)
    assert truncate_chars(text, length, truncation_text()) == truncatechars(text, length)
