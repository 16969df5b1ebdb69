"""The usage page's ledger: its filter, a bounded page of entries, and the CSV export.

Who sees what is decided here, not in the view or the template: an admin sees every entry of
the workspace, anyone else only their own, whatever the member filter says.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlencode

from django import forms
from django.db.models import OuterRef, QuerySet, Subquery, Sum
from django.http import QueryDict
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Membership, Workspace
from gallery.models import Image, LedgerEntry, LedgerKind
from gallery.models.budgets import this_month
from gallery.services.budgets import amount_text

PAGE_SIZE = 50
ALL_MONTHS = "all"
MINUS = "\u2212"  # reads better than a hyphen in a column of amounts


@dataclass(frozen=True)
class LedgerFilter:
    period: dt.date | None  # the month (its first day); None: every month
    member_id: int | None
    kind: str  # "" for every kind

    def query_string(self) -> str:
        """The filter as the address carries it; this month (the default) is left out."""
        params: dict[str, str | int] = {}
        if self.period is None:
            params["period"] = ALL_MONTHS
        elif self.period != this_month():
            params["period"] = f"{self.period:%Y-%m}"
        if self.member_id is not None:
            params["member"] = self.member_id
        if self.kind:
            params["kind"] = self.kind
        return urlencode(params)

    @property
    def period_slug(self) -> str:
        return ALL_MONTHS if self.period is None else f"{self.period:%Y-%m}"


class LedgerFilterForm(forms.Form):
    period = forms.ChoiceField(label=gettext_lazy("Month"), required=False)
    member = forms.TypedChoiceField(
        label=gettext_lazy("Member"), coerce=int, required=False, empty_value=None
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"),
        required=False,
        choices=[("", gettext_lazy("All kinds")), *LedgerKind.choices],
    )

    def __init__(
        self, data: QueryDict, *, periods: Iterable[dt.date], members: Iterable[Membership]
    ) -> None:
        super().__init__(data)
        months = sorted({this_month(), *periods}, reverse=True)
        period, member = self.fields["period"], self.fields["member"]
        assert isinstance(period, forms.ChoiceField)
        assert isinstance(member, forms.ChoiceField)
        period.choices = [
            *((f"{month:%Y-%m}", date_format(month, "YEAR_MONTH_FORMAT")) for month in months),
            (ALL_MONTHS, _("All months")),
        ]
        member.choices = [
            ("", _("Everyone")),
            *((m.user_id, m.user.display_name) for m in members),
        ]
        period.error_messages["invalid_choice"] = _(
            "There are no entries for that month; showing this month."
        )
        member.error_messages["invalid_choice"] = _(
            "That is not a member of this workspace; showing everyone."
        )
        kinds = [str(label).lower() for __, label in LedgerKind.choices]
        self.fields["kind"].error_messages["invalid_choice"] = _(
            "Choose %(kinds)s or %(last)s; showing every kind."
        ) % {"kinds": ", ".join(kinds[:-1]), "last": kinds[-1]}

    def ledger_filter(self) -> LedgerFilter:
        """The valid part of the filter: a field in error falls back to its default."""
        self.is_valid()
        data = self.cleaned_data
        period_text = data.get("period") or f"{this_month():%Y-%m}"
        period = None if period_text == ALL_MONTHS else _month(period_text)
        return LedgerFilter(period=period, member_id=data.get("member"), kind=data.get("kind", ""))


def _month(text: str) -> dt.date:
    year, month = text.split("-")
    return dt.date(int(year), int(month), 1)


def ledger_filter_from_query(
    query: QueryDict, *, viewer: Membership
) -> tuple[LedgerFilter, LedgerFilterForm]:
    """The filter asked for in the address and its form (two queries: months and members)."""
    entries = ledger_visible(viewer=viewer)
    periods = entries.order_by("-period").values_list("period", flat=True).distinct()
    members: Iterable[Membership] = []
    if viewer.is_admin:
        members = (
            Membership.objects.filter(workspace_id=viewer.workspace_id)
            .select_related("user")
            .order_by("user__email")
        )
    data = query.copy()
    data.setdefault("period", f"{this_month():%Y-%m}")
    if not viewer.is_admin:
        data.pop("member", None)  # they see their own entries only (`ledger_visible`)
    form = LedgerFilterForm(data, periods=list(periods), members=members)
    return form.ledger_filter(), form


def ledger_visible(*, viewer: Membership) -> QuerySet[LedgerEntry]:
    """The entries `viewer` may see: all of the workspace's for an admin, else their own."""
    entries = LedgerEntry.objects.filter(workspace_id=viewer.workspace_id)
    if not viewer.is_admin:
        entries = entries.filter(member_id=viewer.user_id)
    return entries


def ledger_entries(*, viewer: Membership, ledger_filter: LedgerFilter) -> QuerySet[LedgerEntry]:
    """The filtered entries `viewer` may see, newest first. The member filter narrows what
    they may see; it never widens it."""
    entries = ledger_visible(viewer=viewer)
    if ledger_filter.period is not None:
        entries = entries.filter(period=ledger_filter.period)
    if ledger_filter.member_id is not None:
        entries = entries.filter(member_id=ledger_filter.member_id)
    if ledger_filter.kind:
        entries = entries.filter(kind=ledger_filter.kind)
    return entries.select_related("member", "created_by").order_by("-id")


@dataclass(frozen=True)
class LedgerPage:
    entries: Sequence[LedgerEntry]  # each with `first_image_id` (None: no image)
    next_before: int | None  # the id the next (older) page starts below; None: the last page


def ledger_page(
    *, viewer: Membership, ledger_filter: LedgerFilter, before: int | None = None
) -> LedgerPage:
    """One page of entries, newest first, keyed on the id (the ledger is append-only, so ids
    follow time): one query, no COUNT over the ledger."""
    entries = ledger_entries(viewer=viewer, ledger_filter=ledger_filter)
    if before is not None:
        entries = entries.filter(id__lt=before)
    # The job's first image: where a link to the job leads (the generate page lists only the
    # latest jobs), in the same query.
    first_image = Image.objects.visible().filter(job_id=OuterRef("job_id")).order_by("id")
    entries = entries.annotate(first_image_id=Subquery(first_image.values("id")[:1]))
    rows = list(entries[: PAGE_SIZE + 1])
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return LedgerPage(rows, rows[-1].pk if more else None)


def ledger_settled(*, workspace: Workspace, unit: str, period: dt.date) -> Decimal:
    """What the month's settle entries add up to: what jobs really took, in `unit`."""
    total = LedgerEntry.objects.filter(
        workspace=workspace, unit=unit, period=period, kind=LedgerKind.SETTLE
    ).aggregate(total=Sum("amount"))["total"]
    return total or Decimal(0)


# --- CSV --------------------------------------------------------------------------------------

CSV_HEADER = (
    "time (UTC)",
    "month",
    "member",
    "kind",
    "amount",
    "unit",
    "job",
    "made by",
    "note",
)


def plain_decimal(amount: Decimal) -> str:
    """4, 0.0112, -3: no exponent, no trailing zeros, as a spreadsheet reads it."""
    text = format(amount.normalize(), "f")
    return "0" if text in ("-0", "") else text


def signed_amount_text(amount: Decimal, unit: str) -> str:
    """+4 images, -2 images (a true minus sign), +$0.0112: the sign first, as a ledger reads."""
    if not amount:
        return amount_text(amount, unit)
    return f"{MINUS if amount < 0 else '+'}{amount_text(abs(amount), unit)}"


def entry_amount_text(entry: LedgerEntry) -> str:
    """The amount column: signed ("+4 images", "-2 images" with a true minus), but a grant
    reads as the room it gave ("2 images more", beside its "Granted" badge), not as negative
    use."""
    if entry.kind == LedgerKind.GRANT:
        return _("%(amount)s more") % {"amount": amount_text(-entry.amount, entry.unit)}
    return signed_amount_text(entry.amount, entry.unit)


def entry_made_by(entry: LedgerEntry) -> str:
    """Who wrote the entry: the submitter, the admin who adjusted, or Darkroom itself."""
    if entry.created_by is not None:
        return entry.created_by.display_name
    return "Darkroom" if entry.kind != LedgerKind.ADJUST else str(REMOVED_USER)


def entry_member(entry: LedgerEntry) -> str:
    return entry.member.display_name if entry.member is not None else str(REMOVED_USER)


REMOVED_USER = gettext_lazy("a removed user")


def ledger_csv_rows(entries: QuerySet[LedgerEntry]) -> Iterator[list[str]]:
    yield list(CSV_HEADER)
    for entry in entries.iterator(chunk_size=500):
        yield [
            entry.created_at.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S"),
            f"{entry.period:%Y-%m}",
            entry_member(entry),
            entry.kind,
            plain_decimal(entry.amount),
            entry.unit,
            str(entry.job_id or ""),
            entry_made_by(entry),
            entry.note,
        ]


class _Echo:
    """csv.writer's file: hands each line back instead of keeping it."""

    def write(self, value: str) -> str:
        return value


def ledger_csv_lines(entries: QuerySet[LedgerEntry]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    for row in ledger_csv_rows(entries):
        yield writer.writerow(row)
