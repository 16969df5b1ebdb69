from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone
from django.utils.timesince import timesince
from django.utils.translation import gettext, npgettext_lazy

register = template.Library()

# timesince's words as they read after "ago" (German "vor 2 Tagen", not "vor 2 Tage").
AGO_STRINGS = {
    "year": npgettext_lazy("time ago", "%(num)d year", "%(num)d years", "num"),
    "month": npgettext_lazy("time ago", "%(num)d month", "%(num)d months", "num"),
    "week": npgettext_lazy("time ago", "%(num)d week", "%(num)d weeks", "num"),
    "day": npgettext_lazy("time ago", "%(num)d day", "%(num)d days", "num"),
    "hour": npgettext_lazy("time ago", "%(num)d hour", "%(num)d hours", "num"),
    "minute": npgettext_lazy("time ago", "%(num)d minute", "%(num)d minutes", "num"),
}


@register.filter
def duration(start: dt.datetime | None, end: dt.datetime | None = None) -> str:
    """A short duration between two moments (or until now): "4 s", "2 min 5 s", "1 h 3 min"."""
    if start is None:
        return ""
    seconds = max(int(((end or timezone.now()) - start).total_seconds()), 0)
    if seconds < 1:
        return gettext("under a second")
    if seconds < 60:
        return gettext("%(seconds)s\u00a0s") % {"seconds": seconds}
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        if seconds:
            return gettext("%(minutes)s min %(seconds)s s") % {
                "minutes": minutes,
                "seconds": seconds,
            }
        return gettext("%(minutes)s min") % {"minutes": minutes}
    hours, minutes = divmod(minutes, 60)
    if minutes:
        return gettext("%(hours)s h %(minutes)s min") % {"hours": hours, "minutes": minutes}
    return gettext("%(hours)s h") % {"hours": hours}


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
        return gettext("just now")
    # timesince speaks the active language ("5 Minuten"); the sentence around it is ours.
    # Lazy strings work as timesince's own defaults do; the stubs only know plain str.
    time = timesince(moment, time_strings=AGO_STRINGS)  # type: ignore[arg-type]
    return gettext("%(time)s ago") % {"time": time}
