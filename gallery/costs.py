"""What a request will cost, from the catalog row's own pricing: shown under the submit button.

A pure function of the catalog row, the options chosen and the latest quota report: no table of
prices lives here, and a price the catalog does not state is "price unknown", never a guess.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.utils.translation import gettext, gettext_lazy, ngettext

from accounts.text import currency_text

if TYPE_CHECKING:
    from gallery.models import CatalogModel, QuotaSnapshot
    from providers import QuotaKind

# Prices shown to four decimals at most (NanoGPT prices cheap models at $0.0112 an image).
_SHOWN = Decimal("0.0001")


@dataclass(frozen=True)
class InFlight:
    """What queued and running jobs will still take: not in the provider's last report yet."""

    images: int = 0
    amounts: dict[str, Decimal] = field(default_factory=dict)  # reserved, by currency


@dataclass(frozen=True)
class BudgetLeft:
    """The tighter of the member's monthly budget and the workspace cap, as the ledger has it."""

    left: Decimal
    limit: Decimal
    unit: str  # "images", or a currency
    mine: bool  # the member's own budget (else the workspace cap)


@dataclass(frozen=True)
class CostEstimate:
    """What one request will take: ``images`` of the workspace quota (a quota counted in
    images), or ``amount`` in ``currency`` (a money balance); ``amount`` None when the price is
    unknown. ``left_after`` is the quota or balance left afterwards, None when not reported."""

    images: int
    quota_kind: QuotaKind | None
    amount: Decimal | None = None
    currency: str = ""
    left_after: int | Decimal | None = None
    # The quota or balance reported does not cover this request.
    short: bool = False
    # What is left now (for "only 2 left today"), and in which period that counts.
    left_now: int | Decimal | None = None
    period: str = "this month"
    # Queued and running jobs are counted in left_after and left_now (not reported yet).
    after_queued: bool = False
    budget: BudgetLeft | None = None

    @property
    def over_budget(self) -> bool:
        if self.budget is None:
            return False
        cost = self._cost_in(self.budget.unit)
        return cost is not None and cost > self.budget.left

    @property
    def known(self) -> bool:
        return self.quota_kind == "credits" or self.amount is not None

    @property
    def text(self) -> str:
        parts = self._provider_parts()
        if self.budget is not None:
            parts.append(self._budget_part(self.budget))
        return " · ".join(parts)

    def _provider_parts(self) -> list[str]:
        queued = self.after_queued
        if self.quota_kind == "credits":
            parts = [
                ngettext(
                    "%(count)s image of the workspace quota",
                    "%(count)s images of the workspace quota",
                    self.images,
                )
                % {"count": self.images}
            ]
            if self.short and self.left_now is not None:
                parts.append(_only_left(int(self.left_now), self.period, queued))
            elif self.left_after is not None:
                left = {"left": self.left_after}
                parts.append(
                    (
                        gettext("leaves %(left)s this month after recent jobs")
                        if queued
                        else gettext("leaves %(left)s this month")
                    )
                    % left
                )
            return parts
        parts = [
            ngettext("%(count)s image", "%(count)s images", self.images) % {"count": self.images}
        ]
        if self.amount is None:
            parts.append(gettext("price unknown"))
            return parts
        parts.append(f"≈ {money(self.amount, self.currency)}")
        if self.short and self.left_now is not None:
            balance = {"balance": money(Decimal(self.left_now), self.currency)}
            parts.append(
                (
                    gettext("more than the %(balance)s balance after recent jobs")
                    if queued
                    else gettext("more than the %(balance)s balance")
                )
                % balance
            )
        elif self.left_after is not None:
            left_money = {"left": money(Decimal(self.left_after), self.currency)}
            parts.append(
                (
                    gettext("leaves %(left)s after recent jobs")
                    if queued
                    else gettext("leaves %(left)s")
                )
                % left_money
            )
        return parts

    def _budget_part(self, budget: BudgetLeft) -> str:
        """Like the quota's part, what is left once this request is paid: "leaves 2 of your 50
        images budget this month"; "over budget: …" with what is left now when it does not fit."""
        images = budget.unit == "images"
        figures = {
            "left": _budget_amount(budget.left, budget.unit),
            "limit": _budget_amount(budget.limit, budget.unit),
        }
        if self.over_budget:
            return _BUDGET_TEXTS["over", budget.mine, images] % figures
        cost = self._cost_in(budget.unit)
        if cost is None:
            return _BUDGET_TEXTS["left", budget.mine, images] % figures
        figures["left"] = _budget_amount(budget.left - cost, budget.unit)
        return _BUDGET_TEXTS["leaves", budget.mine, images] % figures

    def _cost_in(self, unit: str) -> Decimal | None:
        if self.quota_kind == "credits":
            return Decimal(self.images) if unit == "images" else None
        return self.amount if unit == self.currency else None


# Whole sentences, so each language can order them: (what, the member's own budget, in images).
_BUDGET_TEXTS: dict[tuple[str, bool, bool], Any] = {
    ("over", True, True): gettext_lazy(
        "over budget: %(left)s of your %(limit)s images left this month"
    ),
    ("over", True, False): gettext_lazy("over budget: %(left)s of your %(limit)s left this month"),
    ("over", False, True): gettext_lazy(
        "over budget: %(left)s of the workspace's %(limit)s images left this month"
    ),
    ("over", False, False): gettext_lazy(
        "over budget: %(left)s of the workspace's %(limit)s left this month"
    ),
    ("left", True, True): gettext_lazy("%(left)s of your %(limit)s images budget left this month"),
    ("left", True, False): gettext_lazy("%(left)s of your %(limit)s budget left this month"),
    ("left", False, True): gettext_lazy(
        "%(left)s of the workspace's %(limit)s images budget left this month"
    ),
    ("left", False, False): gettext_lazy(
        "%(left)s of the workspace's %(limit)s budget left this month"
    ),
    ("leaves", True, True): gettext_lazy(
        "leaves %(left)s of your %(limit)s images budget this month"
    ),
    ("leaves", True, False): gettext_lazy("leaves %(left)s of your %(limit)s budget this month"),
    ("leaves", False, True): gettext_lazy(
        "leaves %(left)s of the workspace's %(limit)s images budget this month"
    ),
    ("leaves", False, False): gettext_lazy(
        "leaves %(left)s of the workspace's %(limit)s budget this month"
    ),
}


def _only_left(left: int, period: str, queued: bool) -> str:
    """ "only 2 left today" (the daily limit is the tighter one), else "only 2 left this month"."""
    if period == "today":
        text = (
            gettext("only %(left)s left today after recent jobs")
            if queued
            else gettext("only %(left)s left today")
        )
    else:
        text = (
            gettext("only %(left)s left this month after recent jobs")
            if queued
            else gettext("only %(left)s left this month")
        )
    return text % {"left": left}


def _budget_amount(amount: Decimal, unit: str) -> str:
    return str(int(amount)) if unit == "images" else money(amount, unit)


def money(amount: Decimal, currency: str) -> str:
    """``$0.16``, ``$0.0112``, ``0.50 EUR``: at least two decimals, at most four."""
    shown = amount.quantize(_SHOWN).normalize()
    exponent = shown.as_tuple().exponent
    if isinstance(exponent, int) and exponent > -2:
        shown = shown.quantize(Decimal("0.01"))
    return currency_text(shown, currency)


def spent_text(amount: Decimal, currency: str) -> str:
    """What a provider took, as it counts: "$0.0224", or "2 images of the quota" (a quota
    counted in images: neuroflash takes one per delivered image)."""
    if currency == "credits":
        used = int(amount)
        return ngettext("%(count)s image of the quota", "%(count)s images of the quota", used) % {
            "count": used
        }
    return money(amount, currency)


def cost_estimate(
    *,
    model: CatalogModel,
    n: int,
    size: str | None,
    quota_kind: QuotaKind | None,
    quota: QuotaSnapshot | None,
    in_flight: InFlight | None = None,
    budget: BudgetLeft | None = None,
) -> CostEstimate:
    """The cost of asking ``model`` for ``n`` images at ``size`` (a resolution, when the model
    has them), measured in what the workspace's provider counts (``quota_kind``). What
    ``in_flight`` jobs will take comes off what the report says is left, as at submit."""
    estimate = _estimate(model, n, size, quota_kind, quota, in_flight or InFlight())
    return estimate if budget is None else replace(estimate, budget=budget)


def _estimate(
    model: CatalogModel,
    n: int,
    size: str | None,
    quota_kind: QuotaKind | None,
    quota: QuotaSnapshot | None,
    in_flight: InFlight,
) -> CostEstimate:
    images = model.fixed_image_count or n
    if quota is not None and quota.kind != quota_kind:
        quota = None  # a report from the provider the workspace had before
    if quota_kind == "credits":
        return _in_images(images, quota, in_flight.images)
    price = unit_price(model.prices, size)
    if price is None:
        return CostEstimate(images=images, quota_kind=quota_kind)
    amount, currency = price
    return _in_money(images, quota_kind, amount * images, currency, quota, in_flight)


def cost_total(
    estimates: list[CostEstimate],
    *,
    quota_kind: QuotaKind | None,
    quota: QuotaSnapshot | None,
    in_flight: InFlight | None = None,
    budget: BudgetLeft | None = None,
) -> CostEstimate:
    """What several requests sent together (a comparison) cost, against the same quota: the
    sum of their images, and of their prices when every one is known in one currency."""
    estimate = _total(estimates, quota_kind, quota, in_flight or InFlight())
    return estimate if budget is None else replace(estimate, budget=budget)


def _total(
    estimates: list[CostEstimate],
    quota_kind: QuotaKind | None,
    quota: QuotaSnapshot | None,
    in_flight: InFlight,
) -> CostEstimate:
    images = sum(e.images for e in estimates)
    if quota is not None and quota.kind != quota_kind:
        quota = None
    if quota_kind == "credits":
        return _in_images(images, quota, in_flight.images)
    currencies = {e.currency for e in estimates}
    if any(e.amount is None for e in estimates) or len(currencies) != 1:
        return CostEstimate(images=images, quota_kind=quota_kind)
    total = sum((e.amount for e in estimates if e.amount is not None), Decimal(0))
    return _in_money(images, quota_kind, total, currencies.pop(), quota, in_flight)


def _in_money(
    images: int,
    quota_kind: QuotaKind | None,
    total: Decimal,
    currency: str,
    quota: QuotaSnapshot | None,
    in_flight: InFlight,
) -> CostEstimate:
    estimate = CostEstimate(images=images, quota_kind=quota_kind, amount=total, currency=currency)
    balance = quota.balance if quota is not None else None
    if balance is None or (quota is not None and quota.currency not in ("", currency)):
        return estimate
    queued = in_flight.amounts.get(currency, Decimal(0))
    balance = max(balance - queued, Decimal(0))
    return CostEstimate(
        images=images,
        quota_kind=quota_kind,
        amount=total,
        currency=currency,
        left_after=max(balance - total, Decimal(0)),
        short=total > balance,
        left_now=balance,
        after_queued=queued > 0,
    )


def _in_images(images: int, quota: QuotaSnapshot | None, queued: int) -> CostEstimate:
    if quota is None:
        return CostEstimate(images=images, quota_kind="credits")
    left_now = quota.images_left
    if left_now is not None:
        left_now = max(left_now - queued, 0)
    left_after = None
    if quota.monthly_available is not None:
        left_after = max(quota.monthly_available - queued - images, 0)
    return CostEstimate(
        images=images,
        quota_kind="credits",
        left_after=left_after,
        short=left_now is not None and images > left_now,
        left_now=left_now,
        period=quota.limiting_period if left_now is not None else "this month",
        after_queued=queued > 0,
    )


def unit_price(prices: list[dict[str, Any]], size: str | None) -> tuple[Decimal, str] | None:
    """The per-image price (and its currency) the catalog states for ``size``: the price for
    that resolution, else a price for any resolution. None when it states neither, or prices
    in another unit (per megapixel, per second): that would be a guess."""
    per_image = [p for p in prices if (p.get("unit") or "image") == "image"]
    for wanted in (size, None) if size else (None,):
        for price in per_image:
            if price.get("resolution") == wanted:
                return _amount(price)
    if size is None and len({(p.get("amount"), p.get("currency")) for p in per_image}) == 1:
        return _amount(per_image[0])  # one price whatever the resolution
    return None


def _amount(price: dict[str, Any]) -> tuple[Decimal, str] | None:
    try:
        amount = Decimal(str(price.get("amount")))
    except InvalidOperation:
        return None
    if not amount.is_finite() or amount < 0:
        return None
    return amount, str(price.get("currency") or "USD")
