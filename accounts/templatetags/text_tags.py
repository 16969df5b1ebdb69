from __future__ import annotations

from django import template
from django.conf import settings
from django.utils.html import format_html
from django.utils.translation import pgettext

from accounts.text import stored_text

register = template.Library()


@register.filter(name="stored_text")
def stored_text_filter(text: str) -> str:
    """A message stored in English (a delivery's or a connection check's error), in the
    reader's language where the catalogue has it (accounts.text.stored_text)."""
    return stored_text(text)


@register.simple_tag
def language_choices() -> list[tuple[str, str]]:
    """The languages by their own names ("English", "Deutsch") whatever the page's language:
    `get_available_languages` translates them ("Englisch" on a German page)."""
    return list(settings.LANGUAGES)


@register.filter
def quoted(value: object) -> str:
    """Someone's words in the reader's quotation marks: “…” in English, „…“ in German."""
    return format_html(pgettext("quotation marks around someone's words", "“{}”"), value)
