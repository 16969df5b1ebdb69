from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from django.utils import formats, translation
from django.utils.translation import gettext, ngettext, pgettext

IMAGES = "images"  # the unit of a quota counted in images; any other unit is a currency


def sentence(message: str) -> str:
    """A provider's message as the start of a sentence ("sandbox had …" → "Sandbox had …")."""
    return message[:1].upper() + message[1:]


# English messages with parameters that are stored rendered (a webhook delivery's error, a
# connection check's error, a job's error) and translated when shown: `stored_text` matches the
# stored English against each of these and fills the German in with the same values.
_STORED_PATTERNS: dict[str, re.Pattern[str]] = {}
_PLACEHOLDER = re.compile(r"%\((\w+)\)s")


def stored_message_id(msgid: str) -> str:
    """Register an English msgid (with %(name)s placeholders) whose rendered text is stored, so
    `stored_text` can show it in the reader's language; returns ``msgid``. Mark it with
    gettext_noop where it is written, so the catalogue has it."""
    if msgid not in _STORED_PATTERNS:
        parts = _PLACEHOLDER.split(msgid)
        regex = "".join(
            f"(?P<{part}>.*?)" if i % 2 else re.escape(part.replace("%%", "%"))
            for i, part in enumerate(parts)
        )
        _STORED_PATTERNS[msgid] = re.compile(f"{regex}$", re.DOTALL)
    return msgid


def stored_text(text: str) -> str:
    """A message stored in English (a job's error), in the reader's language where the
    catalogue has it: the whole text, a registered message with its values
    (`stored_message_id`), or a known message followed by a "(detail)" that stays as the
    provider wrote it. Anything else is shown as stored."""
    if not text:
        return text
    translated = gettext(text)
    if translated != text:
        return translated
    for msgid, pattern in _STORED_PATTERNS.items():
        match = pattern.match(text)
        if match:
            values = {name: stored_text(value) for name, value in match.groupdict().items()}
            try:
                return gettext(msgid) % values
            except (KeyError, TypeError, ValueError):
                return text
    cut = text.rfind(" (")
    if cut > 0 and text.endswith(")"):
        head = text[:cut]
        if gettext(head) != head:
            return f"{gettext(head)}{text[cut:]}"
    return text


def currency_text(amount: Decimal, currency: str) -> str:
    """An amount of money as people read it in their language: "$0.16" in English, "0,16 $" in
    German (decimal comma, the symbol after a non-breaking space); ``amount`` is shown exactly
    as given. Exports that machines read (the ledger's CSV) do not use this: they keep a plain
    decimal point (gallery.ledger.plain_decimal)."""
    number = formats.number_format(amount, use_l10n=True)
    if currency == "USD":
        return pgettext("an amount in US dollars", "$%(amount)s") % {"amount": number}
    if not currency:
        return number
    return pgettext("an amount in another currency", "%(amount)s %(currency)s") % {
        "amount": number,
        "currency": currency,
    }


def amount_text(amount: Decimal, unit: str, *, noun: bool = True) -> str:
    """An amount as people read it: 4 images (4 without the noun), $0.0224, 0.5 EUR."""
    if unit == IMAGES:
        count = int(amount)
        if not noun:
            return str(count)
        return ngettext("%(count)s image", "%(count)s images", count) % {"count": count}
    shown = amount.quantize(Decimal("0.0001")).normalize()
    return currency_text(Decimal(f"{shown:f}"), unit)


def stored_message(message: str, params: dict[str, Any]) -> str:
    """A message stored as its English msgid and parameters (a notification), in the reader's
    language. A parameter stored as {"amount": "4", "unit": "images"} is an amount, written the
    reader's way too; {"percent": 80} a share."""
    shown: dict[str, Any] = {}
    for name, value in params.items():
        if isinstance(value, dict) and "amount" in value:
            shown[name] = amount_text(
                Decimal(value["amount"]), value.get("unit", ""), noun=value.get("noun", True)
            )
        elif isinstance(value, dict) and "percent" in value:
            shown[name] = gettext("%(percent)s %%") % {"percent": value["percent"]}
        else:
            shown[name] = value
    try:
        return gettext(message) % shown
    except (KeyError, TypeError, ValueError):
        return message % shown  # a translation that lost a placeholder: English, not a crash


def english(text: Any) -> str:
    """A lazily translated label (a role's name) in English, whatever the request's language:
    the form stored texts take (`stored_text` shows them in the reader's)."""
    with translation.override("en"):
        return str(text)
