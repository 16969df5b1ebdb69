from __future__ import annotations

import pytest
from playwright.sync_api import expect

from gallery.models import LedgerEntry
from tests.browser.test_foundation import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_gives_a_member_a_budget_and_sees_what_they_used(
    page, screenshot, owner, member, workspace
):
    LedgerEntry.objects.create(
        workspace=workspace, member=member, kind="reserve", amount=4, unit="images"
    )
    log_in(page, owner.email)
    page.goto(f"/w/{workspace.slug}/budgets/")
    row = page.locator(".budget-row", has_text=member.email)
    expect(row).to_contain_text("Used 4 images this month · unlimited")

    row.get_by_label("Unlimited").uncheck()
    row.get_by_role("button", name=f"Save the budget of {member.email}").click()
    row = page.locator(".budget-row", has_text=member.email)
    expect(row).to_contain_text("Enter a monthly amount, or tick Unlimited.")

    expect(row.get_by_label("Unlimited")).not_to_be_checked()  # kept as sent
    row.get_by_label(f"Monthly budget of {member.email}").fill("50")
    row.get_by_role("button", name=f"Save the budget of {member.email}").click()
    expect(page.locator(".budget-row", has_text=member.email)).to_contain_text(
        "Used 4 of 50 images this month"
    )
    screenshot("settings-budgets")


@pytest.fixture
def meghan(workspace, owner):
    """A member with a long address, who used 4 images of 3 + 2 granted, 1 given back."""
    from decimal import Decimal

    from gallery.models import MemberBudget
    from tests.factories import MembershipFactory

    user = MembershipFactory(
        workspace=workspace,
        user__email="meghan.featherstonehaugh@photography-studio.example.com",
        user__first_name="Meghan",
        user__last_name="Featherstonehaugh",
    ).user
    MemberBudget.objects.create(workspace=workspace, user=user, limit=Decimal(3), unlimited=False)
    for kind, amount, note in [
        ("grant", -2, "request 7 approved"),
        ("settle", 5, ""),
        ("adjust", -1, "One blank image refunded by the provider after a retried batch"),
    ]:
        LedgerEntry.objects.create(
            workspace=workspace,
            member=user,
            kind=kind,
            amount=amount,
            unit="images",
            note=note,
            created_by=owner if kind != "settle" else None,
        )
    return user


def test_budgets_after_a_grant_and_an_adjustment_read_honestly_on_a_phone_too(
    page, screenshot, owner, meghan, workspace
):
    log_in(page, owner.email)
    page.goto(f"/w/{workspace.slug}/budgets/")
    row = page.locator(".budget-row", has_text=meghan.email)
    expect(row).to_contain_text("Used 4 of 5 images this month (3 + 2 granted)")
    expect(row).to_contain_text("Granted 2 images more: request 7 approved")
    expect(row).to_contain_text("Adjusted -1 image: One blank image refunded")
    screenshot("settings-budgets-grant")

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    row = page.locator(".budget-row", has_text=meghan.email)
    expect(row).to_contain_text("Used 4 of 5 images this month (3 + 2 granted)")
    cut = row.locator(".member-who .small").evaluate_all(
        "els => els.filter(e => e.scrollWidth > e.clientWidth).map(e => e.textContent)"
    )
    assert cut == []  # wrapped, never cut with "…"
    screenshot("settings-budgets-390")


def test_the_usage_ledger_shows_notes(page, screenshot, owner, meghan, workspace):
    log_in(page, owner.email)
    page.goto(f"/w/{workspace.slug}/usage/")
    expect(page.locator(".ledger-head")).to_contain_text("adjustment and grant of the workspace")
    ledger = page.locator("#ledger")
    expect(ledger).to_contain_text("One blank image refunded by the provider after a retried batch")
    expect(ledger).to_contain_text("2 images more")
    expect(page.locator(".budget-member", has_text="Meghan")).to_contain_text(
        "4 of 5 images used (3 + 2 granted) · 1 left"
    )
    screenshot("usage-ledger-notes")


def test_giving_back_more_than_was_used_is_refused_beside_the_amount(
    page, screenshot, owner, meghan, workspace
):
    log_in(page, owner.email)
    page.goto(f"/w/{workspace.slug}/budgets/")
    row = page.locator(".budget-row", has_text=meghan.email)
    row.get_by_text("Adjust this month").click()
    row.get_by_label("Adjust by").fill("-9")
    row.get_by_label("Reason").fill("Refund")
    row.get_by_role("button", name=f"Adjust the month of {meghan.email}").click()
    row = page.locator(".budget-row", has_text=meghan.email)
    expect(row.locator(".field-invalid")).to_contain_text(
        "Meghan Featherstonehaugh used 4 images this month; you can give back at most 4."
    )
    expect(page.get_by_role("link", name="Budgets")).to_have_attribute("aria-current", "page")
    screenshot("settings-budgets-give-back-refused")
