from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from gallery.models import Image, Job
from gallery.services.catalog import catalog_refresh
from tests.browser.test_foundation import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def studio(workspace, sandbox):
    workspace.credential.base_url = sandbox.url
    workspace.credential.save()
    catalog_refresh(workspace=workspace)
    return workspace


def test_a_member_generates_watches_edits_and_deletes_an_image(
    page, screenshot, celery_worker, studio, member, sandbox
):
    log_in(page, member.email)
    page.get_by_role("navigation", name="Workspace").get_by_role("link", name="Generate").click()
    expect(page.locator("h1")).to_have_text("Generate")

    page.get_by_label("Prompt").fill("a red lighthouse on a cliff at dusk")
    page.get_by_label("Model").select_option("seedream-4")
    # The options follow the model: Seedream makes at most 2 images.
    expect(page.get_by_label("Images")).to_contain_text("2")
    expect(page.get_by_label("Images").locator("option")).to_have_count(2)
    page.get_by_label("Aspect ratio").select_option("16:9")
    screenshot("generate-form")
    page.get_by_role("button", name="Generate").click()

    card = page.locator("article.job").first
    expect(card).to_contain_text("a red lighthouse on a cliff at dusk")
    expect(card.locator(".badge")).to_have_text(re.compile("Queued|Running|Done"))
    expect(card.locator(".badge")).to_have_text("Done", timeout=30_000)
    expect(card.locator(".job-thumbs img")).to_have_count(1)
    screenshot("generate-done")

    card.locator(".job-thumbs a").first.click()
    expect(page.locator("h1")).to_have_text("a red lighthouse on a cliff at dusk")
    original = Image.objects.get()
    screenshot("image-detail")

    page.get_by_label("Change").fill("make it night with stars")
    page.get_by_role("button", name="Edit image").click()
    edit_card = page.locator("article.job", has_text="make it night with stars")
    expect(edit_card.locator(".badge")).to_have_text("Done", timeout=30_000)
    edit_card.locator(".job-thumbs a").first.click()
    expect(page.locator(".facts")).to_contain_text("Edited from")
    edited = Image.objects.exclude(pk=original.pk).get()
    assert edited.parent == original

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete").click()
    expect(page).to_have_url(re.compile(r"/w/studio/$"))
    edited.refresh_from_db()
    assert edited.deleted_at is not None
    expect(page.locator(f'a[href$="/images/{edited.pk}/"]')).to_have_count(0)
    screenshot("gallery")
    assert Job.objects.filter(state="succeeded").count() == 2
    assert sandbox.counters()["images_charged"] == 2
