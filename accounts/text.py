from __future__ import annotations

from django.utils.translation import gettext


def sentence(message: str) -> str:
    """A provider's message as the start of a sentence ("sandbox had …" → "Sandbox had …")."""
    return message[:1].upper() + message[1:]


def stored_text(text: str) -> str:
    """A message stored in English (a job's error), in the reader's language where the
    catalogue has it: the whole text, or a known message followed by a "(detail)" that stays
    as the provider wrote it. Anything else is shown as stored."""
    if not text:
        return text
    translated = gettext(text)
    if translated != text:
        return translated
    cut = text.rfind(" (")
    if cut > 0 and text.endswith(")"):
        head = text[:cut]
        if gettext(head) != head:
            return f"{gettext(head)}{text[cut:]}"
    return text
