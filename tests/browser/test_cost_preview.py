"""The cost under the Generate button follows the model, the count and the size, live."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from accounts import crypto
from gallery.models import QuotaSnapshot
from gallery.services.catalog import catalog_refresh
from tests.browser.test_foundation import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_cost_follows_the_count_and_the_model(page, screenshot, studio, member):
    QuotaSnapshot.objects.create(
        workspace=studio, kind="credits", monthly_available=40, monthly_limit=100, monthly_used=60
    )
    log_in(page, member.email)
    page.goto(f"/w/{studio.slug}/generate/")
    cost = page.locator("#cost-preview")
    expect(cost).to_have_attribute("aria-live", "polite")
    expect(cost).to_have_text("Cost: 1 image of the workspace quota · leaves 39 this month")

    page.get_by_label("Images").select_option("3")
    expect(cost).to_have_text("Cost: 3 images of the workspace quota · leaves 37 this month")
    page.get_by_label("Prompt").fill("a red lighthouse on a cliff at dusk")
    screenshot("generate-cost-quota")

    page.get_by_label("Model").select_option("ideogram-v3")  # one image at a time
    expect(page.get_by_label("Images").locator("option")).to_have_count(1)
    expect(cost).to_have_text("Cost: 1 image of the workspace quota · leaves 39 this month")


def test_nanogpt_prices_each_resolution_in_dollars(page, screenshot, studio, member, sandbox):
    credential = studio.credential
    credential.kind = "nanogpt"
    credential.secret_encrypted = crypto.encrypt(sandbox.api_key)
    credential.save()
    catalog_refresh(workspace=studio)
    QuotaSnapshot.objects.create(
        workspace=studio, kind="balance", balance=Decimal("9.49"), currency="USD"
    )
    log_in(page, member.email)
    page.goto(f"/w/{studio.slug}/generate/")
    cost = page.locator("#cost-preview")

    page.get_by_label("Model").select_option("openai/gpt-image-1")
    expect(cost).to_have_text("Cost: 1 image · ≈ $0.04 · leaves $9.45")
    page.get_by_label("Images").select_option("4")
    expect(cost).to_have_text("Cost: 4 images · ≈ $0.16 · leaves $9.33")
    page.get_by_label("Resolution").select_option("1024x768")
    expect(cost).to_have_text("Cost: 4 images · ≈ $0.20 · leaves $9.29")
    page.get_by_label("Prompt").fill("a harbour in the fog, wide")
    screenshot("generate-cost-nanogpt")
