"""gallery.fast_html escapes exactly as django.utils.html does."""

from __future__ import annotations

import pytest
from django.utils import html as django_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from gallery import fast_html


@pytest.mark.parametrize(
    "value",
    ['<script>alert("1")</script>', "it's & <b>", 42, None, mark_safe("<b>ok</b>"),
     gettext_lazy("Any <model>")],
)  # fmt: skip
def test_the_same_as_djangos(value):
    assert fast_html.escape(value) == django_html.escape(value)
    assert fast_html.conditional_escape(value) == django_html.conditional_escape(value)
