"""The API tokens page in a real browser: make a token, copy it, use it, revoke it; and the API's
docs page under the site's strict CSP (the page fixture fails on any console error)."""

from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect

from tests.browser.test_foundation import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}


def test_a_member_makes_uses_and_revokes_a_token(page, screenshot, live_server, member, owner):
    log_in(page, member.email)
    page.locator("details.usermenu > summary").click()
    page.get_by_role("link", name="API tokens").click()
    expect(page.locator("h1")).to_contain_text("API tokens")
    page.get_by_label("Name").fill("nightly render script")
    page.get_by_label("Role").select_option("member")
    page.get_by_role("button", name="Create token").click()
    field = page.get_by_label("The new API token")
    expect(field).to_be_visible()
    raw = field.input_value()
    assert raw.startswith("drk_")
    expect(page.locator("#tokens-panel")).to_contain_text("nightly render script")
    expect(page.locator("#tokens-panel")).to_contain_text("Never used")
    screenshot("api-tokens-created")
    page.set_viewport_size(PHONE)
    screenshot("api-tokens-created-390")
    page.set_viewport_size({"width": 1280, "height": 800})

    answer = requests.get(
        f"{live_server.url}/api/token", headers={"Authorization": f"Bearer {raw}"}, timeout=10
    )
    assert answer.json()["role"] == "member"
    page.reload()
    expect(page.get_by_label("The new API token")).to_have_count(0)  # shown once
    expect(page.locator("#tokens-panel")).to_contain_text("Last used")

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Revoke nightly render script").click()
    expect(page.locator("#tokens-panel .badge-error")).to_have_text("revoked")
    screenshot("api-tokens-revoked")
    refused = requests.get(
        f"{live_server.url}/api/token", headers={"Authorization": f"Bearer {raw}"}, timeout=10
    )
    assert refused.status_code == 401


def test_the_api_docs_render_under_the_sites_csp(page, screenshot):
    page.goto("/api/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("Darkroom API")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    screenshot("api-docs")
    page.set_viewport_size(PHONE)
    screenshot("api-docs-390")
