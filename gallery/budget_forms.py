"""Forms of budgets: an admin's member and workspace budgets and adjustments, a member's
request for more."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gallery.models.budgets import amount_text

NEGATIVE_BUDGET = gettext_lazy("A budget cannot be below 0: enter 0 or more.")


def _budget_amount(
    form: forms.Form, name: str, unlimited: bool, unit: str, *, current: Decimal | None, tick: str
) -> None:
    """A budget is a number or an explicit "unlimited", never a blank taken for either. A
    number typed while `tick` ("Unlimited") is still ticked is refused rather than thrown away;
    the number already saved (`current`, None: unlimited), shown in the box, is not typed: ticking
    the box beside it makes the budget unlimited."""
    if name in form.errors:
        return  # one error at a time (e.g. below 0)
    amount = form.cleaned_data.get(name)
    if unlimited:
        if amount is not None and amount != current:
            form.add_error(
                name,
                _("Untick %(tick)s to set %(value)s a month, or clear the amount.")
                % {"tick": tick, "value": amount_text(amount, unit)},
            )
        form.cleaned_data[name] = None
    elif amount is None:
        form.add_error(name, _("Enter a monthly amount, or tick %(tick)s.") % {"tick": tick})
    elif unit == "images" and amount != amount.to_integral_value():
        form.add_error(name, _("Images are counted whole: enter a whole number."))


def _budget_field(label: Any, **kwargs: Any) -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        required=False,
        min_value=0,
        max_digits=14,
        decimal_places=4,
        error_messages={"min_value": NEGATIVE_BUDGET},
        **kwargs,
    )


class MemberBudgetForm(forms.Form):
    limit = _budget_field(gettext_lazy("Monthly budget"))
    unlimited = forms.BooleanField(label=gettext_lazy("Unlimited"), required=False)

    def __init__(
        self, *args: Any, unit: str, current: Decimal | None = None, **kwargs: Any
    ) -> None:
        """`current`: the member's budget as the page shows it (None: unlimited)."""
        super().__init__(*args, **kwargs)
        self.unit, self.current = unit, current

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        unlimited = bool(self.cleaned_data.get("unlimited"))
        _budget_amount(
            self, "limit", unlimited, self.unit, current=self.current, tick=_("Unlimited")
        )
        return cleaned


class WorkspaceBudgetForm(forms.Form):
    cap = _budget_field(gettext_lazy("Workspace cap a month"))
    cap_unlimited = forms.BooleanField(label=gettext_lazy("No cap"), required=False)
    member_default = _budget_field(
        gettext_lazy("Default for members"),
        help_text=gettext_lazy("For members without a budget of their own."),
    )
    member_default_unlimited = forms.BooleanField(label=gettext_lazy("Unlimited"), required=False)

    def __init__(
        self,
        *args: Any,
        unit: str,
        current_cap: Decimal | None = None,
        current_default: Decimal | None = None,
        **kwargs: Any,
    ) -> None:
        """`current_*`: what is saved now (None: unlimited)."""
        super().__init__(*args, **kwargs)
        self.unit = unit
        self.current_cap, self.current_default = current_cap, current_default

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        _budget_amount(
            self,
            "cap",
            bool(self.cleaned_data.get("cap_unlimited")),
            self.unit,
            current=self.current_cap,
            tick=_("No cap"),
        )
        _budget_amount(
            self,
            "member_default",
            bool(self.cleaned_data.get("member_default_unlimited")),
            self.unit,
            current=self.current_default,
            tick=_("Unlimited by default"),
        )
        return cleaned


def _whole_images(form: forms.Form, name: str, unit: str) -> None:
    amount = form.cleaned_data.get(name)
    if unit == "images" and amount is not None and amount != amount.to_integral_value():
        form.add_error(name, _("Images are counted whole: enter a whole number."))


class BudgetRequestForm(forms.Form):
    """A member asking for more of this month's budget."""

    amount = forms.DecimalField(
        label=gettext_lazy("How much more"),
        max_digits=14,
        decimal_places=4,
        error_messages={"required": gettext_lazy("Enter how much more you need.")},
    )
    note = forms.CharField(
        label=gettext_lazy("Note for the admins"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("What it is for, so an admin can decide quickly."),
    )

    def __init__(self, *args: Any, unit: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.unit = unit
        self.fields["amount"].label = (
            _("How much more (images)")
            if unit == "images"
            else _("How much more (%(unit)s)") % {"unit": unit}
        )

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        least = Decimal(1) if self.unit == "images" else Decimal("0.01")
        amount = self.cleaned_data.get("amount")
        if amount is not None and amount < least:
            self.add_error(
                "amount",
                _("Ask for at least %(value)s.") % {"value": amount_text(least, self.unit)},
            )
        else:
            _whole_images(self, "amount", self.unit)
        return cleaned


class BudgetAdjustForm(forms.Form):
    """An admin's correction of what a member used this month: + uses more, - gives back."""

    amount = forms.DecimalField(
        label=gettext_lazy("Adjust by"),
        max_digits=14,
        decimal_places=4,
        error_messages={"required": gettext_lazy("Enter an amount, e.g. -5 to give 5 back.")},
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason"),
        max_length=200,
        error_messages={"required": gettext_lazy("Say why, for the audit log.")},
    )

    def __init__(self, *args: Any, unit: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.unit = unit

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        if cleaned is not None and cleaned.get("amount") == 0:
            self.add_error("amount", _("Enter an amount other than 0."))
        _whole_images(self, "amount", self.unit)
        return cleaned
