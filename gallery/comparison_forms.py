"""The compare form: one prompt, two to four of the catalog's models, each with its own options.

Built from the workspace's cached catalog like the generate form (no capability table): each
picked model gets exactly the option fields it documents (`ModelOptionsForm`), named
`m<catalog row id>-<option>` so several models' options share one form.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django import forms
from django.http import QueryDict
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from accounts.models import ProviderCredential
from gallery.costs import BudgetLeft, CostEstimate, InFlight, cost_total
from gallery.forms import (
    NO_CREDENTIAL,
    ModelOptionsForm,
    credential_missing,
    prompt_clean,
)
from gallery.models import CatalogModel, JobKind, QuotaSnapshot
from gallery.services.comparisons import MAX_MODELS, MIN_MODELS
from gallery.services.jobs import JobRequest
from providers import QuotaKind

NUMBERS = {2: gettext_lazy("two"), 3: gettext_lazy("three"), 4: gettext_lazy("four")}


class ModelPickForm(ModelOptionsForm):
    """One picked model's options. Sent without an option (a model ticked without JavaScript,
    a hand-made request), it takes that model's default."""

    def __init__(
        self, data: Any = None, *, model: CatalogModel, query: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(data, prefix=f"m{model.pk}")
        self.model = model
        self._add_option_fields(model)
        if self.is_bound:
            filled = {key: data.get(key) for key in data}
            for name, field in self.fields.items():
                if not filled.get(self.add_prefix(name)) and field.initial is not None:
                    filled[self.add_prefix(name)] = str(field.initial)
            self.data = filled
        elif query:
            self.initial = {
                name: query[self.add_prefix(name)]
                for name, field in self.fields.items()
                if str(query.get(self.add_prefix(name)))
                in {str(value) for value, _ in getattr(field, "choices", [])}
            }


@dataclass(frozen=True)
class CompareCost:
    """Each picked model's cost, and the comparison's total (None with no model picked)."""

    lines: list[tuple[ModelPickForm, CostEstimate]]
    total: CostEstimate | None

    @property
    def text(self) -> str:
        """ "3 models · 6 images of the workspace quota · leaves 80 this month"."""
        if self.total is None:
            return ""
        count = len(self.lines)
        models = ngettext("%(count)s model", "%(count)s models", count) % {"count": count}
        return f"{models} · {self.total.text}"


class CompareForm(forms.Form):
    prompt = forms.CharField(
        widget=forms.Textarea(
            attrs={"rows": 3, "placeholder": gettext_lazy("Describe the image…")}
        ),
        help_text=gettext_lazy("Every model gets the same prompt."),
        error_messages={"required": gettext_lazy("Describe what you want to see.")},
    )
    models = forms.MultipleChoiceField(
        label=gettext_lazy("Models"),
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": format_lazy(
                gettext_lazy("Pick {least} to {most} models to compare."),
                least=NUMBERS[MIN_MODELS],
                most=NUMBERS[MAX_MODELS],
            ),
            "invalid_choice": gettext_lazy(
                "%(value)s is not a model this workspace's provider offers."
            ),
        },
    )
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(
        self,
        data: Any = None,
        *,
        models: list[CatalogModel],
        credential: ProviderCredential | None,
        query: QueryDict | None = None,
    ) -> None:
        """`models` are the catalog's text-to-image rows; `query` fills an unbound form (the
        live preview, and the no-JavaScript "Show their options")."""
        super().__init__(data, initial={"prompt": query.get("prompt", "") if query else ""})
        self.catalog = [m for m in models if m.allowed]
        self.not_in_plan = len(models) - len(self.catalog)
        self.credential = credential
        field = self.fields["models"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = [(m.provider_model_id, m.name) for m in self.catalog]
        self.fields["idempotency_key"].initial = uuid.uuid4().hex
        source = data if self.is_bound else query
        wanted = set(source.getlist("models")) if source is not None else set()
        picked = [m for m in self.catalog if m.provider_model_id in wanted]
        self.picks = [
            ModelPickForm(data, model=m) if self.is_bound else ModelPickForm(model=m, query=query)
            for m in picked
        ]

    @property
    def picked_ids(self) -> set[str]:
        return {pick.model.provider_model_id for pick in self.picks}

    @property
    def too_many(self) -> bool:
        return len(self.picks) > MAX_MODELS

    def clean_prompt(self) -> str:
        return prompt_clean(self.cleaned_data["prompt"])

    def clean_models(self) -> list[str]:
        picked: list[str] = self.cleaned_data["models"]
        if len(picked) < MIN_MODELS:
            raise forms.ValidationError(
                _("Pick at least %(value)s models to compare (one is ticked).")
                % {"value": NUMBERS[MIN_MODELS]}
            )
        if len(picked) > MAX_MODELS:
            raise forms.ValidationError(
                _("Pick at most %(value)s models (%(value2)s are ticked).")
                % {"value": NUMBERS[MAX_MODELS], "value2": len(picked)}
            )
        return picked

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if credential_missing(self.credential):
            raise forms.ValidationError(NO_CREDENTIAL)
        return cleaned

    def is_valid(self) -> bool:
        valid = [super().is_valid()] + [pick.is_valid() for pick in self.picks]  # every error shown
        return all(valid)

    ask_for_more: str | None = None  # set by the view when the member's budget is short

    @property
    def has_errors(self) -> bool:
        return bool(self.errors) or any(pick.errors for pick in self.picks)

    def job_requests(self) -> list[JobRequest]:
        prompt = self.cleaned_data["prompt"]
        return [
            JobRequest(
                JobKind.TEXT2IMAGE, prompt, pick.model.provider_model_id, pick.request_params()
            )
            for pick in self.picks
        ]

    def cost(
        self,
        *,
        quota_kind: QuotaKind | None,
        quota: QuotaSnapshot | None,
        in_flight: InFlight | None = None,
        budget: BudgetLeft | None = None,
    ) -> CompareCost:
        # Each model's own share, without "leaves …": what is left is the total's to say.
        lines = [
            (pick, pick.options_cost(pick.model, quota_kind=quota_kind, quota=None))
            for pick in self.picks
        ]
        total = None
        if lines:
            estimates = [estimate for _, estimate in lines]
            total = cost_total(
                estimates, quota_kind=quota_kind, quota=quota, in_flight=in_flight, budget=budget
            )
        return CompareCost(lines, total)
