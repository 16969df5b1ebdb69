"""Over budget, a member asks for more from the refusal; an admin sees the request on
Settings · Budgets and under the bell, approves it in one click; the member is told and
submits the job that was refused."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from gallery.models import BudgetRequest
from tests.browser.test_foundation import log_in
from tests.gallery.test_budgets import give, spend

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
]


def generate(page, n: str) -> None:
    """With the default model (Nano Banana 2); waits for the live cost preview to follow the
    count, so the click never races the preview's swap."""
    page.get_by_label("Prompt").fill("a red lighthouse on a cliff at dusk")
    page.get_by_label("Images").select_option(n)
    expect(page.locator("#cost-preview")).to_contain_text(f"Cost: {n} images")
    page.get_by_role("button", name="Generate").click()


def switch_to(page, email: str) -> None:
    page.context.clear_cookies()
    log_in(page, email)


def test_a_member_asks_for_more_an_admin_approves_and_the_job_runs(
    page, screenshot, celery_worker, studio, member, owner
):
    give(studio, member, 3)
    spend(studio, member, 2)
    log_in(page, member.email)
    page.goto(f"/w/{studio.slug}/generate/")
    cost = page.locator("#cost-preview")
    expect(cost).to_contain_text("leaves 0 of your 3 images budget this month")
    generate(page, "2")
    # The preview said so before the click: the refusal only confirms it.
    expect(cost).to_contain_text("over budget: 1 of your 3 images left this month")
    refusal = page.locator(".form-error")
    expect(refusal).to_contain_text("This costs 2 images; you have 1 of your 3 left this month.")
    screenshot("generate-refused-ask-for-more")

    refusal.get_by_role("link", name="Ask for more").click()
    expect(page.locator("h1")).to_contain_text("Your budget")
    expect(page.get_by_label("How much more (images)")).to_have_value("1")
    page.get_by_label("Note for the admins").fill("One more crop for the client's banner.")
    page.get_by_role("button", name="Send the request").click()
    expect(page.locator("#toasts")).to_contain_text("Request sent. The admins have been told.")
    expect(page.locator(".request-row")).to_contain_text("Pending · 1 image")
    screenshot("budget-ask-sent")

    switch_to(page, owner.email)
    page.goto(f"/w/{studio.slug}/budgets/")
    bell = page.locator("#bell > summary")
    expect(bell).to_have_attribute("aria-label", "Notifications: 1 unread")
    expect(page.get_by_role("navigation", name="Settings sections")).to_contain_text("Budgets 1")
    request = page.locator(".request-row", has_text=member.email)
    expect(request).to_contain_text("asks for 1 image more this month")
    expect(request).to_contain_text("“One more crop for the client's banner.”")
    screenshot("settings-budgets-pending-request")

    bell.click()
    expect(bell).to_have_attribute("aria-expanded", "true")
    panel = page.locator("#bell-panel")
    expect(panel).to_contain_text(f"{member.email} asks for 1 image more this month")
    screenshot("bell-dropdown")
    page.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(bell).to_have_attribute("aria-expanded", "false")

    request.get_by_role("button", name=f"Approve 1 image more for {member.email}").click()
    expect(page.locator("#requests")).to_contain_text("No requests waiting.")
    tabs = page.get_by_role("navigation", name="Settings sections")
    expect(tabs.get_by_role("link", name="Budgets", exact=True)).to_be_visible()  # no count left
    row = page.locator(".budget-row", has_text=member.email)
    expect(row).to_contain_text("Granted 1 image more: request")
    assert BudgetRequest.objects.get().state == "approved"
    row.get_by_text("Adjust this month").click()
    row.get_by_label("Adjust by").fill("1.5")
    row.get_by_role("button", name=f"Adjust the month of {member.email}").click()
    row = page.locator(".budget-row", has_text=member.email)
    expect(row).to_contain_text("Images are counted whole: enter a whole number.")
    expect(row).to_contain_text("Say why, for the audit log.")
    screenshot("settings-budgets-adjust-errors")

    switch_to(page, member.email)
    page.goto(f"/w/{studio.slug}/generate/")
    expect(page.locator("#bell > summary")).to_have_attribute(
        "aria-label", "Notifications: 1 unread"
    )
    page.locator("#bell > summary").click()
    expect(page.locator("#bell-panel")).to_contain_text(
        "Your request for 1 image more this month was approved."
    )
    page.locator("#bell-panel").get_by_role("link", name="All notifications").click()
    expect(page.locator("h1")).to_have_text("Notifications")
    screenshot("notifications-page")
    page.get_by_role("button", name=re.compile("was approved")).click()
    expect(page.locator("h1")).to_contain_text("Your budget")
    expect(page.locator(".request-row")).to_contain_text("Approved · 1 image")
    expect(page.locator("#bell > summary")).to_have_attribute(
        "aria-label", "Notifications: none unread"
    )
    page.goto(f"/w/{studio.slug}/generate/")
    generate(page, "2")
    card = page.locator("article.job").first
    expect(card).to_contain_text("a red lighthouse on a cliff at dusk")
    expect(card.locator(".badge")).to_have_text(re.compile("Queued|Running|Done"))
    expect(card.locator(".badge")).to_have_text("Done", timeout=30_000)
