from __future__ import annotations

import pytest
from playwright.sync_api import expect

from gallery.models import Image
from tests.browser.test_foundation import log_in

# A real worker runs the jobs too: browser and integration.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
]


def test_images_made_elsewhere_appear_after_one_sync(
    page, screenshot, celery_worker, workspace, member, sandbox
):
    workspace.credential.base_url = sandbox.url
    workspace.credential.save()
    sandbox.seed_history(6, prompt="made by the provider's own app")

    log_in(page, member.email)
    expect(page.locator("#sync-panel")).to_contain_text("not synced yet")
    page.get_by_role("button", name="Sync now").click()
    expect(page.locator("#sync-panel")).to_contain_text("6 images made elsewhere", timeout=30_000)
    page.reload()
    expect(page.locator(".tile")).to_have_count(6)
    # The files arrive in the background; once they have, the grid shows real thumbnails.
    for _ in range(30):
        if Image.objects.filter(workspace=workspace).exclude(thumbnail="").count() == 6:
            break
        page.wait_for_timeout(500)
    page.reload()
    expect(page.locator(".tile img")).to_have_count(6)
    screenshot("gallery-synced")

    page.get_by_role("navigation", name="Workspace").get_by_role("link", name="Usage").click()
    expect(page.locator("svg.chart rect")).to_have_count(30)
    screenshot("usage")
