"""The generate and edit forms, built from the workspace's cached catalog (no capability table)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Mapping
from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import ProviderCredential, kind_uses_secret
from gallery.costs import BudgetLeft, CostEstimate, InFlight, cost_estimate
from gallery.models import CatalogModel, JobKind, QuotaSnapshot, Webhook, WebhookEvent
from gallery.models.webhooks import JOB_EVENTS
from gallery.services.jobs import JobRequest
from gallery.services.webhooks import webhook_url_problem
from providers import QuotaKind

OPTION_FIELDS = ("n", "aspect_ratio", "size", "output_format")
# What a link to the form may fill in: Reuse prompt, or the no-JavaScript "Show its options".
PREFILLED_FIELDS = ("prompt", "model", *OPTION_FIELDS)


def initial_from_query(query: Mapping[str, str]) -> dict[str, str]:
    """The form's initial values from a query string; the form drops options its model lacks."""
    return {name: query[name] for name in PREFILLED_FIELDS if query.get(name)}


def prompt_clean(prompt: str) -> str:
    prompt = prompt.strip()
    limit = settings.PROMPT_MAX_LENGTH
    if len(prompt) > limit:
        raise forms.ValidationError(
            _("Keep it under %(limit)s characters (this has %(value)s).")
            % {"limit": limit, "value": len(prompt)}
        )
    return prompt


def credential_missing(credential: ProviderCredential | None) -> bool:
    return credential is None or (kind_uses_secret(credential.kind) and not credential.has_secret)


NO_CREDENTIAL = gettext_lazy(
    "This workspace has no provider credential yet. An admin can add one in Settings → Provider."
)


def group_models(models: list[CatalogModel]) -> list[tuple[str, list[CatalogModel]]]:
    """Models grouped by vendor for the <select>, in catalog order."""
    groups: dict[str, list[CatalogModel]] = defaultdict(list)
    for model in models:
        groups[model.group or "Models"].append(model)
    return list(groups.items())


class ModelOptionsForm(forms.Form):
    """The option fields (count, aspect ratio, resolution, format) exactly as one catalog
    model documents them, the value each shows, and what they cost. The generate and edit forms
    are one of these; a comparison has one per model (`gallery.comparison_forms`)."""

    fixed_n: int | None = None  # the model makes exactly this many; no count to choose
    kind = JobKind.TEXT2IMAGE

    def _add_option_fields(self, model: CatalogModel) -> None:
        if model.fixed_image_count:
            self.fixed_n = model.fixed_image_count
        else:
            self.fixed_n = None
            maximum = model.max_images or 1
            self.fields["n"] = forms.TypedChoiceField(
                label=_("Images"),
                choices=[(i, str(i)) for i in range(1, maximum + 1)],
                coerce=int,
                initial=1,
                help_text=_("Up to %(maximum)s.") % {"maximum": maximum}
                if maximum > 1
                else _("This model makes one image at a time."),
            )
        ratios = list(model.aspect_ratios)
        if self.kind == JobKind.EDIT and ratios and "auto" not in ratios:
            ratios.insert(0, "auto")  # the edit endpoint also takes "keep the source's ratio"
        if ratios:
            self.fields["aspect_ratio"] = forms.ChoiceField(
                label=_("Aspect ratio"),
                choices=[(r, r) for r in ratios],
                initial="auto" if "auto" in ratios else ("1:1" if "1:1" in ratios else ratios[0]),
            )
        if model.sizes:
            self.fields["size"] = forms.ChoiceField(
                label=_("Resolution"),
                choices=[(s, s) for s in model.sizes],
                initial=model.default_size or model.sizes[0],
            )
        if model.output_formats:
            self.fields["output_format"] = forms.ChoiceField(
                label=_("Format"),
                choices=[(f, f.upper()) for f in model.output_formats],
                initial=model.output_formats[0],
            )

    def option_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in OPTION_FIELDS if name in self.fields]

    def chosen(self, name: str) -> str | None:
        """The value an option field shows: what was sent or asked for when the model offers
        it, else the field's default (None when the model has no such option)."""
        field = self.fields.get(name)
        if field is None:
            return None
        offered = {str(value) for value, _ in getattr(field, "choices", [])}
        value = self[name].value()
        if value is not None and str(value) in offered:
            return str(value)
        return None if field.initial is None else str(field.initial)

    def request_params(self) -> dict[str, Any]:
        """The provider parameters of a valid form: the count, then the options it offers."""
        data = self.cleaned_data
        params: dict[str, Any] = {"n": self.fixed_n or data.get("n", 1)}
        for name in ("aspect_ratio", "size", "output_format"):
            if data.get(name):
                params[name] = data[name]
        return params

    def options_cost(
        self,
        model: CatalogModel,
        *,
        quota_kind: QuotaKind | None,
        quota: QuotaSnapshot | None,
        in_flight: InFlight | None = None,
        budget: BudgetLeft | None = None,
    ) -> CostEstimate:
        """What asking `model` with the options the form shows now would cost."""
        return cost_estimate(
            model=model,
            n=self.fixed_n or int(self.chosen("n") or 1),
            size=self.chosen("size"),
            quota_kind=quota_kind,
            quota=quota,
            in_flight=in_flight,
            budget=budget,
        )


class JobForm(ModelOptionsForm):
    """Prompt and model plus exactly the options the chosen model documents.

    `models` are the catalog rows usable for this kind of job (disallowed ones included, so the
    page can show them disabled with the reason, and a crafted POST is refused by name).
    """

    submit_label = gettext_lazy("Generate")
    # Set when the submit was refused over the member's own budget: what they lacked, which
    # the refusal's "Ask for more" link prefills.
    ask_for_more: str | None = None

    prompt = forms.CharField(
        widget=forms.Textarea(
            attrs={"rows": 3, "placeholder": gettext_lazy("Describe the image…")}
        ),
        help_text=gettext_lazy("What you want to see."),
        error_messages={"required": gettext_lazy("Describe what you want to see.")},
    )
    model = forms.ChoiceField(
        label=gettext_lazy("Model"),
        error_messages={
            "invalid_choice": gettext_lazy("This model is not offered by the workspace's provider.")
        },
    )
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(
        self,
        data: Any = None,
        *,
        models: list[CatalogModel],
        credential: ProviderCredential | None,
        **kwargs: Any,
    ) -> None:
        super().__init__(data, **kwargs)
        self.models = {m.provider_model_id: m for m in models}
        self.credential = credential
        self.grouped_models = group_models(models)
        model_field = self.fields["model"]
        assert isinstance(model_field, forms.ChoiceField)
        model_field.choices = [(m.provider_model_id, m.name) for m in models]
        self.fields["idempotency_key"].initial = uuid.uuid4().hex
        self.selected = self._selected_model()
        if self.selected is not None:
            self.fields["model"].initial = self.selected.provider_model_id
            self._add_option_fields(self.selected)
        if not self.is_bound:
            self.initial = self._offered(self.initial)

    def _offered(self, initial: Mapping[str, Any]) -> dict[str, Any]:
        """The initial values without the options the chosen model does not offer (a reused
        prompt made with another model, a hand-edited link): those fields show their default."""
        kept = dict(initial)
        for name in OPTION_FIELDS:
            if name not in kept:
                continue
            field = self.fields.get(name)
            choices = {str(value) for value, _ in getattr(field, "choices", [])}
            if str(kept[name]) not in choices:
                del kept[name]
        return kept

    @property
    def disallowed(self) -> list[CatalogModel]:
        """Models the provider lists but this account's plan does not include (shown greyed)."""
        return [m for m in self.models.values() if not m.allowed]

    def _selected_model(self) -> CatalogModel | None:
        wanted = (self.data.get("model") if self.is_bound else None) or self.initial.get("model")
        if wanted in self.models:
            return self.models[wanted]
        usable = [m for m in self.models.values() if m.allowed]
        return usable[0] if usable else None

    def cost_estimate(
        self,
        *,
        quota_kind: QuotaKind | None,
        quota: QuotaSnapshot | None,
        in_flight: InFlight | None = None,
        budget: BudgetLeft | None = None,
    ) -> CostEstimate | None:
        """What the request the form shows now would cost (None without a usable model)."""
        if self.selected is None:
            return None
        return self.options_cost(
            self.selected, quota_kind=quota_kind, quota=quota, in_flight=in_flight, budget=budget
        )

    def clean_prompt(self) -> str:
        return prompt_clean(self.cleaned_data["prompt"])

    def clean_model(self) -> str:
        model = self.models.get(self.cleaned_data["model"])
        if model is None:
            raise forms.ValidationError(_("This model is not offered by the workspace's provider."))
        if not model.allowed:
            raise forms.ValidationError(
                _("%(name)s is not available: not included in this account's plan.")
                % {"name": model.name}
            )
        return model.provider_model_id

    def clean(self) -> dict[str, Any]:
        super().clean()
        cleaned = self.cleaned_data
        if credential_missing(self.credential):
            raise forms.ValidationError(NO_CREDENTIAL)
        return cleaned

    def job_request(self, parent_image: Any = None) -> JobRequest:
        data = self.cleaned_data
        return JobRequest(
            kind=self.kind,
            prompt=data["prompt"],
            model_id=data["model"],
            params=self.request_params(),
            parent_image=parent_image,
        )


class EditForm(JobForm):
    kind = JobKind.EDIT
    submit_label = gettext_lazy("Edit image")

    prompt = forms.CharField(
        widget=forms.Textarea(
            attrs={"rows": 3, "placeholder": gettext_lazy("Describe the change…")}
        ),
        help_text=gettext_lazy("What should change in this image."),
        label=gettext_lazy("Change"),
        error_messages={"required": gettext_lazy("Describe the change you want.")},
    )


class WebhookForm(forms.Form):
    url = forms.CharField(
        label=gettext_lazy("Receiver URL"),
        max_length=Webhook._meta.get_field("url").max_length,
        help_text=gettext_lazy(
            "Where Darkroom POSTs the events, e.g. https://hooks.example.com/darkroom. "
            "Redirects are not followed."
        ),
        widget=forms.URLInput(attrs={"placeholder": "https://", "spellcheck": "false"}),
    )
    events = forms.MultipleChoiceField(
        choices=[(e, WebhookEvent(e).label) for e in JOB_EVENTS],
        initial=JOB_EVENTS,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": gettext_lazy("Choose at least one event to send.")},
    )
    enabled = forms.BooleanField(label=gettext_lazy("Send events"), required=False, initial=True)

    def clean_url(self) -> str:
        url = self.cleaned_data["url"].strip()
        problem = webhook_url_problem(url)
        if problem:
            raise forms.ValidationError(problem)
        return url
