"""The usage page in a real browser: the quota in full, budget bars, the ledger's filter."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from gallery.models import Job, LedgerEntry, MemberBudget, QuotaSnapshot, WorkspaceBudget
from tests.browser.test_foundation import log_in
from tests.factories import MembershipFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def busy_month(workspace, owner, member):
    """A month of spending: a quota report, budgets, and jobs reserved, settled and running."""
    QuotaSnapshot.objects.create(
        workspace=workspace,
        kind="credits",
        monthly_used=58,
        monthly_limit=100,
        monthly_available=47,
        daily_used=9,
        daily_limit=20,
        bonus=5,
        spillover=0,
        fair_use_reached=False,
    )
    WorkspaceBudget.objects.create(workspace=workspace, cap=Decimal(80), cap_unlimited=False)
    MemberBudget.objects.create(
        workspace=workspace, user=member, limit=Decimal(30), unlimited=False
    )
    carol = MembershipFactory(
        workspace=workspace, user__email="carol@example.com", user__first_name="Carol"
    ).user
    for author, images, settled in ((member, 4, True), (carol, 2, True), (member, 3, False)):
        job = Job.objects.create(
            workspace=workspace,
            author=author,
            prompt="p",
            model_id="m",
            idempotency_key=f"k{images}",
        )
        common = {"workspace": workspace, "member": author, "job": job, "unit": "images"}
        LedgerEntry.objects.create(kind="reserve", amount=images, created_by=author, **common)
        if settled:
            LedgerEntry.objects.create(kind="release", amount=-images, **common)
            LedgerEntry.objects.create(kind="settle", amount=images, **common)
    LedgerEntry.objects.create(
        workspace=workspace,
        member=member,
        kind="adjust",
        amount=10,
        unit="images",
        created_by=owner,
    )
    return carol


def test_an_admin_reads_the_quota_budgets_and_filters_the_ledger(
    page, screenshot, owner, member, workspace, busy_month
):
    log_in(page, owner.email)
    page.goto(f"/w/{workspace.slug}/usage/")
    quota = page.locator("section", has=page.get_by_role("heading", name="Provider's quota"))
    expect(quota).to_contain_text("58 of 100 images used")
    expect(quota).to_contain_text("9 of 20 images used · 11 left")
    expect(quota).to_contain_text("Reported just now.")
    expect(quota).to_contain_text("Darkroom: 6 images · provider: 58 · 52 made outside Darkroom")
    budgets = page.locator("section", has=page.get_by_role("heading", name="Budgets this month"))
    expect(budgets).to_contain_text("19 of 80 images used · 61 left")  # the cap: everyone
    expect(budgets).to_contain_text("17 of 30 images used · 13 left")
    expect(budgets).to_contain_text("3 images reserved by jobs still running")
    ledger = page.locator("#ledger tbody tr")
    expect(ledger).to_have_count(8)
    screenshot("usage-admin")

    page.get_by_label("Member", exact=True).select_option(label=busy_month.display_name)
    expect(ledger).to_have_count(3)
    expect(page).to_have_url(f"{page.url.split('?')[0]}?member={busy_month.pk}")
    page.get_by_label("Kind", exact=True).select_option(label="Settled")
    expect(ledger).to_have_count(1)
    expect(ledger).to_contain_text("+2 images")
    csv_link = page.get_by_role("link", name="Download CSV")
    expect(csv_link).to_have_attribute(
        "href", f"/w/{workspace.slug}/usage/ledger.csv?member={busy_month.pk}&kind=settle"
    )


def test_a_member_on_a_phone_sees_their_own_budget_and_entries(
    page, screenshot, member, workspace, busy_month
):
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, member.email)
    page.goto(f"/w/{workspace.slug}/usage/")
    budgets = page.locator("section", has=page.get_by_role("heading", name="Budgets this month"))
    expect(budgets.locator(".budget-member")).to_have_count(1)
    expect(budgets).not_to_contain_text(busy_month.display_name)
    # Their two jobs (one still running) and the adjustment.
    expect(page.locator("#ledger tbody tr")).to_have_count(5)
    expect(page.get_by_label("Member", exact=True)).to_have_count(0)
    screenshot("usage-member-phone")
