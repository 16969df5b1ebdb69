"""Forms of reviewing and organising images: review, comment, favourite, collections, bulk
actions and the review queue."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gallery.models import ReviewState
from gallery.services.review import COMMENT_MAX_LENGTH

# The services decide what is allowed (a note for rejecting, a comment's length); these forms
# only read the POST, and show the service's refusal next to its field.


class ReviewForm(forms.Form):
    state = forms.ChoiceField(choices=ReviewState.choices)
    note = forms.CharField(
        required=False,
        label=gettext_lazy("Reason or note"),
        widget=forms.Textarea(
            attrs={"rows": 2, "placeholder": gettext_lazy("Needed to reject or to ask for changes")}
        ),
        help_text=gettext_lazy("The author reads it in the history."),
    )


class CommentForm(forms.Form):
    body = forms.CharField(
        label=gettext_lazy("Comment"),
        required=False,  # comment_add says what is missing or too long
        strip=False,
        widget=forms.Textarea(
            attrs={
                "rows": 3,
                "placeholder": gettext_lazy("Say something about this image…"),
                "maxlength": COMMENT_MAX_LENGTH,
            }
        ),
    )


class FavouriteForm(forms.Form):
    favourite = forms.TypedChoiceField(
        choices=[("1", gettext_lazy("Favourite")), ("0", gettext_lazy("Not a favourite"))],
        coerce=lambda value: value == "1",
    )


# --- Collections, bulk actions, the review queue ----------------------------------------------


class CollectionForm(forms.Form):
    """Create or rename: the service checks the name (unique per workspace, ignoring case)."""

    name = forms.CharField(label=gettext_lazy("New collection"), max_length=100, strip=True)


class ImageCollectionForm(forms.Form):
    """On an image's page: add it to a collection (or to a new one), or take it out of one."""

    action = forms.ChoiceField(
        choices=[
            ("add", gettext_lazy("Add")),
            ("remove", gettext_lazy("Remove")),
            ("new", gettext_lazy("New")),
        ]
    )
    collection = forms.IntegerField(required=False, min_value=1, label=gettext_lazy("Collection"))
    name = forms.CharField(required=False, max_length=100, label=gettext_lazy("New collection"))


BULK_ACTIONS = {
    "approve": gettext_lazy("Approve"),
    "reject": gettext_lazy("Reject"),
    "favourite": gettext_lazy("Favourite"),
    "collect": gettext_lazy("Add to collection"),
    "uncollect": gettext_lazy("Remove from collection"),
    "delete": gettext_lazy("Delete"),
    "download": gettext_lazy("Download ZIP"),
}
# What a viewer may do with a selection: mark favourites and take a copy of what they can see.
VIEWER_BULK_ACTIONS = frozenset({"favourite", "download"})


class IdListField(forms.Field):
    """Repeated `name=<id>` values as a list of ints; anything that is not a whole number is
    dropped (whose ids they are is the selection's business, not the form's)."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value: Any) -> list[int]:
        return [int(v) for v in value or [] if str(v).isdigit()][:10_000]


class BulkForm(forms.Form):
    """The gallery's bulk bar. The selection is the ticked `image` ids, or with `scope=filter`
    every image of the gallery filter in `filter` (its query string)."""

    action = forms.ChoiceField(choices=list(BULK_ACTIONS.items()))
    image = IdListField(required=False)
    scope = forms.ChoiceField(required=False, choices=[("", "Ticked"), ("filter", "Filter")])
    filter = forms.CharField(required=False, max_length=2000)
    note = forms.CharField(required=False, max_length=2000, label=gettext_lazy("Reason"))
    collection = forms.IntegerField(required=False, min_value=1)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        action = cleaned.get("action")
        if action in ("collect", "uncollect") and not cleaned.get("collection"):
            self.add_error("collection", _("Pick a collection."))
        if not cleaned.get("image") and cleaned.get("scope") != "filter":
            self.add_error(None, _("Select some images first."))
        return cleaned


QUEUE_ACTIONS = {
    "approve": "approved",
    "reject": "rejected",
    "needs_changes": "needs_changes",
    "favourite": "",
}


class QueueActionForm(forms.Form):
    action = forms.ChoiceField(choices=[(name, name) for name in QUEUE_ACTIONS])
    note = forms.CharField(required=False, max_length=2000)
    filter = forms.CharField(required=False, max_length=2000)
