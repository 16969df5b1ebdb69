from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone
from django.utils.timesince import timesince

register = template.Library()


@register.filter
def duration(start: dt.datetime | None, end: dt.datetime | None = None) -> str:
    """A short duration between two moments (or until now): "4 s", "2 min 5 s", "1 h 3 min"."""
    if start is None:
        return ""
    seconds = max(int(((end or timezone.now()) - start).total_seconds()), 0)
    if seconds < 1:
        return "under a second"
    if seconds < 60:
        return f"{seconds}\u00a0s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"


@register.filter
def span(length: dt.timedelta | None) -> str:
    """A length of time in the words of `duration`: "15 min"."""
    if length is None:
        return ""
    start = timezone.now()
    return duration(start, start + length)


@register.filter
def ago(moment: dt.datetime | None) -> str:
    """ "just now", "5 minutes ago": Django's timesince reads "0 minutes" for fresh moments."""
    if moment is None:
        return ""
    if timezone.now() - moment < dt.timedelta(minutes=1):
        return "just now"
    return f"{timesince(moment)} ago"
