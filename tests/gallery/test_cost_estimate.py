"""The cost estimate: from the catalog row's own pricing and the latest quota report, no guesses."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from gallery.costs import BudgetLeft, InFlight, cost_estimate, money
from gallery.models import CatalogModel, QuotaSnapshot


def catalog_row(**fields) -> CatalogModel:
    return CatalogModel(
        provider_model_id=fields.pop("id", "m"),
        name="M",
        refreshed_at=timezone.now(),
        **fields,
    )


def price(amount: str, resolution: str | None = None, unit: str = "image") -> dict:
    return {"amount": amount, "currency": "USD", "unit": unit, "resolution": resolution}


PER_RESOLUTION = [price("0.04", "1024x1024"), price("0.05", "1024x768")]


def balance(amount: str, currency: str = "USD") -> QuotaSnapshot:
    return QuotaSnapshot(kind="balance", balance=Decimal(amount), currency=currency)


def credits(monthly: int, daily_limit: int | None = None, daily_used: int | None = None):
    return QuotaSnapshot(
        kind="credits", monthly_available=monthly, daily_limit=daily_limit, daily_used=daily_used
    )


def test_it_prices_a_nanogpt_request_per_image_and_resolution():
    model = catalog_row(prices=PER_RESOLUTION)
    estimate = cost_estimate(
        model=model, n=4, size="1024x768", quota_kind="balance", quota=balance("9.49")
    )
    assert (estimate.amount, estimate.currency) == (Decimal("0.20"), "USD")
    assert estimate.text == "4 images · ≈ $0.20 · leaves $9.29"


def test_it_says_the_balance_does_not_cover_it():
    model = catalog_row(prices=PER_RESOLUTION)
    estimate = cost_estimate(
        model=model, n=4, size="1024x1024", quota_kind="balance", quota=balance("0.10")
    )
    assert estimate.short
    assert estimate.text == "4 images · ≈ $0.16 · more than the $0.10 balance"


def test_it_leaves_out_the_balance_when_none_was_reported():
    model = catalog_row(prices=[price("0.0112")])
    estimate = cost_estimate(model=model, n=1, size="768x1024", quota_kind="balance", quota=None)
    assert estimate.text == "1 image · ≈ $0.0112"


@pytest.mark.parametrize(
    ("prices", "size"),
    [
        ([], "1024x1024"),  # the catalog has no price for this model
        (PER_RESOLUTION, "2048x2048"),  # priced, but not at this resolution
        (PER_RESOLUTION, None),  # priced per resolution, and none chosen
        ([price("0.01", unit="megapixel")], None),  # another unit: would be a guess
        ([{"amount": "n/a", "currency": "USD", "unit": "image", "resolution": None}], None),
    ],
)
def test_an_unknown_price_is_said_plainly(prices, size):
    model = catalog_row(prices=prices)
    estimate = cost_estimate(model=model, n=2, size=size, quota_kind="balance", quota=balance("5"))
    assert not estimate.known
    assert estimate.amount is None
    assert estimate.text == "2 images · price unknown"


def test_a_model_that_always_makes_one_image_costs_one():
    model = catalog_row(prices=[price("0.04", "auto")], fixed_image_count=1)
    estimate = cost_estimate(model=model, n=3, size="auto", quota_kind="balance", quota=None)
    assert (estimate.images, estimate.amount) == (1, Decimal("0.04"))


def test_a_neuroflash_request_counts_images_of_the_quota():
    model = catalog_row(max_images=4)
    estimate = cost_estimate(model=model, n=4, size=None, quota_kind="credits", quota=credits(88))
    assert (estimate.images, estimate.left_after) == (4, 84)
    assert estimate.text == "4 images of the workspace quota · leaves 84 this month"
    unknown = cost_estimate(model=model, n=1, size=None, quota_kind="credits", quota=None)
    assert unknown.text == "1 image of the workspace quota"


def test_it_says_when_the_day_has_less_room_than_the_request():
    model = catalog_row(max_images=4)
    quota = credits(88, daily_limit=50, daily_used=48)
    estimate = cost_estimate(model=model, n=4, size=None, quota_kind="credits", quota=quota)
    assert estimate.text == "4 images of the workspace quota · only 2 left today"


def test_a_report_of_the_previous_provider_is_not_used():
    model = catalog_row(prices=[price("0.04")])
    estimate = cost_estimate(model=model, n=1, size=None, quota_kind="balance", quota=credits(5))
    assert estimate.text == "1 image · ≈ $0.04"


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        ("0.16", "USD", "$0.16"),
        ("0.0112", "USD", "$0.0112"),
        ("9.288800", "USD", "$9.2888"),
        ("10", "USD", "$10.00"),
        ("0.5", "EUR", "0.50 EUR"),
    ],
)
def test_money_reads_naturally(amount, currency, shown):
    assert money(Decimal(amount), currency) == shown


def test_queued_jobs_come_off_what_the_quota_report_says_is_left():
    model = catalog_row(max_images=4)
    estimate = cost_estimate(
        model=model,
        n=4,
        size=None,
        quota_kind="credits",
        quota=credits(88),
        in_flight=InFlight(images=6),
    )
    assert estimate.text == (
        "4 images of the workspace quota · leaves 78 this month after recent jobs"
    )
    short = cost_estimate(
        model=model, n=4, size=None, quota_kind="credits", quota=credits(8), in_flight=InFlight(6)
    )
    assert (
        short.text == "4 images of the workspace quota · only 2 left this month after recent jobs"
    )


def test_money_reserved_for_queued_jobs_comes_off_the_balance():
    model = catalog_row(prices=[price("0.04")])
    estimate = cost_estimate(
        model=model,
        n=2,
        size=None,
        quota_kind="balance",
        quota=balance("1"),
        in_flight=InFlight(amounts={"USD": Decimal("0.5")}),
    )
    assert estimate.text == "2 images · ≈ $0.08 · leaves $0.42 after recent jobs"


def test_the_tighter_budget_is_shown_and_going_over_it_is_said_plainly():
    model = catalog_row(max_images=4)
    mine = BudgetLeft(Decimal(6), Decimal(50), "images", mine=True)
    fits = cost_estimate(model=model, n=4, size=None, quota_kind="credits", quota=None, budget=mine)
    assert (
        fits.text
        == "4 images of the workspace quota · leaves 2 of your 50 images budget this month"
    )
    assert not fits.over_budget
    cap = BudgetLeft(Decimal(2), Decimal(100), "images", mine=False)
    over = cost_estimate(model=model, n=4, size=None, quota_kind="credits", quota=None, budget=cap)
    assert over.over_budget
    assert over.text.endswith("over budget: 2 of the workspace's 100 images left this month")
    dollars = BudgetLeft(Decimal("0.1"), Decimal(5), "USD", mine=True)
    priced = cost_estimate(
        model=catalog_row(prices=[price("0.04")]),
        n=1,
        size=None,
        quota_kind="balance",
        quota=None,
        budget=dollars,
    )
    assert priced.text == "1 image · ≈ $0.04 · leaves $0.06 of your $5.00 budget this month"
