from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_foundation import log_in

# A real worker runs the jobs too: browser and integration.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
]


def test_test_connection_shows_where_the_image_routes_are(
    page, screenshot, celery_worker, workspace, owner, sandbox
):
    workspace.credential.base_url = sandbox.url
    workspace.credential.save()
    sandbox.configure(ds_layout="guide")

    log_in(page, owner.email)
    page.goto(f"/w/{workspace.slug}/settings/provider/")
    advanced = page.locator("details.advanced")
    expect(advanced).to_be_visible()
    # Collapsed until someone needs it: a newcomer sees no route fields at first.
    expect(page.get_by_label("Generation route path")).to_be_hidden()

    page.get_by_role("button", name="Test connection").click()
    card = page.locator("#connection-check")
    expect(card).to_contain_text("Connected", timeout=30_000)
    expect(card).to_contain_text(
        "generation API at /api/ds-prototypes/image_generation, history at /api/ds-prototypes"
    )

    page.reload()
    advanced.locator("summary").click()
    expect(page.get_by_label("Generation route path")).to_be_visible()
    expect(advanced).to_contain_text(
        "Found by Test connection: /api/ds-prototypes/image_generation"
    )
    screenshot("settings-provider-ds-routes")
