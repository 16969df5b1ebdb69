"""The gallery's filters: read from the query string, applied as one queryset, kept in links.

Every list of images (the gallery page, the lightbox's ← →, the review queue, "select all in
filter" bulk actions) goes through `GalleryFilter`, so they all agree on what "the current
filter" means.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from urllib.parse import urlencode

from django import forms
from django.db import connection
from django.db.models import BooleanField, Exists, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.http import QueryDict
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from accounts.models import ProviderKind, User, Workspace
from gallery.form_rendering import RENDERER
from gallery.models import CollectionItem, Favourite, Image, ImageSource, ReviewState

NEWEST, OLDEST = "newest", "oldest"
EDITED, ORIGINAL = "edited", "original"


class GalleryFilterForm(forms.Form):
    """The filter bar. Invalid values are dropped (the rest of the filter still applies) and the
    form keeps their errors to show next to the field."""

    # Rendered on every gallery page: its widgets are written in Python, not by ~40 templates.
    default_renderer = RENDERER

    q = forms.CharField(
        required=False,
        max_length=200,
        label=gettext_lazy("Search prompts"),
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": gettext_lazy("Search prompts…")}
        ),
    )
    provider = forms.ChoiceField(
        required=False, choices=[("", gettext_lazy("Any provider")), *ProviderKind.choices]
    )
    model = forms.CharField(required=False, max_length=200, label=gettext_lazy("Model"))
    # A member's id, or "me".
    author = forms.CharField(required=False, max_length=20, label=gettext_lazy("Author"))
    since = forms.DateField(
        required=False,
        label=gettext_lazy("From"),
        widget=forms.DateInput({"type": "date"}, "%Y-%m-%d"),
    )
    until = forms.DateField(
        required=False,
        label=gettext_lazy("To"),
        widget=forms.DateInput({"type": "date"}, "%Y-%m-%d"),
    )
    review = forms.ChoiceField(
        required=False,
        label=gettext_lazy("Review"),
        choices=[("", gettext_lazy("Any review state")), *ReviewState.choices],
    )
    favourites = forms.BooleanField(required=False, label=gettext_lazy("My favourites"))
    collection = forms.IntegerField(required=False, min_value=1, label=gettext_lazy("Collection"))
    source = forms.ChoiceField(
        required=False,
        label=gettext_lazy("Source"),
        choices=[("", gettext_lazy("Any source")), *ImageSource.choices],
    )
    edited = forms.ChoiceField(
        required=False,
        label=gettext_lazy("Edited"),
        choices=[
            ("", gettext_lazy("Originals and edits")),
            (ORIGINAL, gettext_lazy("Originals")),
            (EDITED, gettext_lazy("Edits")),
        ],
    )
    sort = forms.ChoiceField(
        required=False,
        label=gettext_lazy("Sort"),
        choices=[(NEWEST, gettext_lazy("Newest first")), (OLDEST, gettext_lazy("Oldest first"))],
    )

    def offer(self, choices: FilterChoices, *, user: User) -> None:
        """Show model, author and collection as lists of what this workspace has (a value from
        the query string that is not among them stays selectable, so the form shows it)."""
        others = [(key, name) for key, name in choices.members if key != str(user.pk)]
        lists = {
            "model": [("", _("Any model")), *choices.models],
            "author": [("", _("Anyone")), ("me", _("Me")), *others],
            "collection": [("", _("Any collection")), *choices.collections],
        }
        for name, options in lists.items():
            value = str(self[name].value() or "")
            if value and value not in {key for key, _ in options}:
                options.append((value, value))
            self.fields[name].widget = forms.Select(choices=options)

    def clean_author(self) -> str:
        author = self.cleaned_data["author"].strip()
        if author and author != "me" and not author.isdigit():
            raise forms.ValidationError(_('Pick a member, or "me".'))
        return author

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", _("The end date is before the start date."))
        return cleaned


@dataclass(frozen=True)
class FilterChoices:
    """What the filter bar offers in a workspace, each as (value, label)."""

    models: list[tuple[str, str]]
    members: list[tuple[str, str]]
    collections: list[tuple[str, str]]
    providers: list[str]  # provider kinds that made images here

    @property
    def model_names(self) -> dict[str, str]:
        return dict(self.models)


@dataclass(frozen=True)
class Chip:
    """One active filter, and the query string without it."""

    label: str
    without: str


@dataclass(frozen=True)
class GalleryFilter:
    """What the person asked to see. The empty filter is the whole gallery, newest first."""

    q: str = ""
    provider: str = ""
    model: str = ""
    author: str = ""  # "", "me" or a user id
    since: dt.date | None = None
    until: dt.date | None = None
    review: str = ""
    favourites: bool = False
    collection: int | None = None
    source: str = ""
    edited: str = ""
    sort: str = NEWEST

    @classmethod
    def from_query(cls, query: QueryDict) -> tuple[GalleryFilter, GalleryFilterForm]:
        """The filter in a query string, and the bound form (with errors for bad values)."""
        form = GalleryFilterForm(query)
        form.is_valid()
        valid = {
            name: value
            for name, value in form.cleaned_data.items()
            if name not in form.errors and value not in (None, "")
        }
        return cls(**valid), form

    @property
    def newest_first(self) -> bool:
        return self.sort != OLDEST

    @property
    def is_empty(self) -> bool:
        return self == GalleryFilter(sort=self.sort)

    def query_string(self, **changes: object) -> str:
        """This filter (with `changes`) as a query string, defaults left out: for links that keep
        the filter (detail pages, ← →, the next page, removing one filter)."""
        params = {
            name: (
                "1" if value is True else value.isoformat() if isinstance(value, dt.date) else value
            )
            for name, value in asdict(replace(self, **changes)).items()  # type: ignore[arg-type]
            if value not in (None, "", False) and not (name == "sort" and value == NEWEST)
        }
        return urlencode(params)

    def chips(self, choices: FilterChoices) -> list[Chip]:
        """The active filters in words, each with the link that removes it."""
        names: dict[str, Mapping[str, object]] = {
            "model": choices.model_names,
            "author": {"me": _("me"), **dict(choices.members)},
            "collection": dict(choices.collections),
            "provider": dict(ProviderKind.choices),
            "review": dict(ReviewState.choices),
            "source": dict(ImageSource.choices),
        }
        chips = []
        if self.q:
            chips.append(Chip(f"“{self.q}”", self.query_string(q="")))
        for field, prefix in (
            ("model", _("Model")),
            ("author", pgettext("filter chip: made by", "By")),
            ("provider", _("Provider")),
            ("review", ""),
            ("collection", pgettext("filter chip: in a collection", "In")),
            ("source", pgettext("filter chip: where an image comes from", "From")),
        ):
            value = str(getattr(self, field) or "")
            if value:
                label = str(names[field].get(value, value))
                chips.append(Chip(f"{prefix} {label}".strip(), self.query_string(**{field: ""})))
        if self.since:
            since = date_format(self.since, "DATE_FORMAT")
            chips.append(Chip(_("Since %(date)s") % {"date": since}, self.query_string(since=None)))
        if self.until:
            until = date_format(self.until, "DATE_FORMAT")
            chips.append(Chip(_("Until %(date)s") % {"date": until}, self.query_string(until=None)))
        if self.favourites:
            chips.append(Chip(_("My favourites"), self.query_string(favourites=False)))
        if self.edited:
            label = _("Edits only") if self.edited == EDITED else _("Originals only")
            chips.append(Chip(label, self.query_string(edited="")))
        return chips

    def images(self, *, workspace: Workspace, user: User) -> QuerySet[Image]:
        """The workspace's visible images this filter lets through, unordered, each with
        `is_favourite` for `user` (a subquery, not a query per image)."""
        images = (
            Image.objects.visible().filter(workspace=workspace).annotate(is_favourite=_liked(user))
        )
        if self.q:
            images = images.filter(prompt_matches(self.q))
        exact = {
            "provider": self.provider,
            "model_id": self.model,
            "review_state": self.review,
            "source": self.source,
        }
        images = images.filter(**{field: value for field, value in exact.items() if value})
        if self.author:
            images = images.filter(author_id=user.pk if self.author == "me" else int(self.author))
        if self.since:
            images = images.filter(created_at__gte=_start_of(self.since))
        if self.until:
            images = images.filter(created_at__lt=_start_of(self.until + dt.timedelta(days=1)))
        if self.favourites:
            images = images.filter(is_favourite=True)
        if self.collection:
            in_collection = CollectionItem.objects.filter(
                image=OuterRef("pk"), collection_id=self.collection
            )
            images = images.filter(Exists(in_collection))
        if self.edited:
            images = images.filter(parent__isnull=self.edited == ORIGINAL)
        return images


@dataclass(frozen=True)
class FilterBar:
    """The filter bar of a page: its form, offering the workspace's options, and the filter's
    active parts as chips."""

    form: GalleryFilterForm
    chips: list[Chip]
    set_count: int  # filters set besides the search box (they fold away on a phone)
    is_open: bool  # the fold: open while any of them is set, or wrong
    show_provider: bool  # only where images came from more than one provider
    collection_name: str  # the collection the gallery shows, named above the results

    @classmethod
    def build(
        cls,
        image_filter: GalleryFilter,
        form: GalleryFilterForm,
        choices: FilterChoices,
        user: User,
    ) -> FilterBar:
        form.offer(choices, user=user)
        chips = image_filter.chips(choices)
        set_count = len(chips) - bool(image_filter.q)
        return cls(
            form=form,
            chips=chips,
            set_count=set_count,
            is_open=set_count > 0 or not image_filter.newest_first or bool(form.errors),
            show_provider=len(choices.providers) > 1 or bool(image_filter.provider),
            collection_name=dict(choices.collections).get(str(image_filter.collection or ""), ""),
        )


def _liked(user: User) -> RawSQL:
    """Whether `user` has favourited the image: the SQL of `Exists(Favourite.objects.filter(
    image=OuterRef("pk"), user=user))`, written out because building and compiling that subquery
    took ≈0.2 ms of every gallery page."""
    quote = connection.ops.quote_name
    favourites, images = quote(Favourite._meta.db_table), quote(Image._meta.db_table)
    # Quoted table names from the models; the user is a parameter.
    sql = f"EXISTS (SELECT 1 FROM {favourites} f WHERE f.image_id = {images}.id AND f.user_id = %s)"  # noqa: S608
    return RawSQL(sql, (user.pk,), output_field=BooleanField())  # noqa: S611


def _query_value(value: object) -> object:
    if value is True:
        return "1"
    return value.isoformat() if isinstance(value, dt.date) else value


def _start_of(day: dt.date) -> dt.datetime:
    """Midnight at the start of `day` in the site's time zone."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def prompt_matches(text: str) -> Q | RawSQL:
    """Images whose prompt matches the search `text`.

    PostgreSQL: full-text search (web-search syntax: words, "a phrase", -not) served by the GIN
    index `image_prompt_fts` (migration 0008), whose expression this must repeat exactly.
    SQLite: every word appears in the prompt, ignoring case.
    """
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(Image._meta.db_table)
        return RawSQL(  # noqa: S611 - a quoted table name; the search text is a parameter
            f"to_tsvector('english'::regconfig, {table}.\"prompt\") "
            "@@ websearch_to_tsquery('english'::regconfig, %s)",
            (text,),
            output_field=BooleanField(),
        )
    condition = Q()
    for word in text.replace('"', " ").split():
        if not word.startswith("-"):
            condition &= Q(prompt__icontains=word)
        elif len(word) > 1:
            condition &= ~Q(prompt__icontains=word[1:])
    return condition
