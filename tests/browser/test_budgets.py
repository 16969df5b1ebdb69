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
