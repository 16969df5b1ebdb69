from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from gallery.models import Image, Job
from tests.browser.test_foundation import log_in

# A real worker runs the jobs too: browser and integration.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
]


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


@pytest.mark.worker_env(JOB_RETRY_BASE_SECONDS="0.2", JOB_RETRY_MAX_SECONDS="0.5")
def test_images_paid_for_but_not_downloaded_are_stored_by_retry_download_without_a_new_charge(
    page, screenshot, celery_worker, studio, member, sandbox, settings
):
    settings.JOB_MAX_ATTEMPTS = 2  # fixed on the job when it is submitted
    # The image host is down, and so is the provider's own view route.
    sandbox.faults({"route": "storage.file", "status": 503}, {"route": "ds.view", "status": 503})
    log_in(page, member.email)
    page.goto(f"/w/{studio.slug}/generate/")
    page.get_by_label("Prompt").fill("a harbour in the fog")
    page.get_by_role("button", name="Generate").click()

    card = page.locator("article.job").first
    expect(card.locator(".badge")).to_have_text("Failed", timeout=30_000)
    expect(card).to_contain_text("were paid for but could not be downloaded")
    screenshot("job-paid-not-downloaded")

    sandbox.clear_faults()  # the image host is back
    card.get_by_role("button", name="Retry download").click()
    expect(card.locator(".badge")).to_have_text("Done", timeout=30_000)
    expect(card.locator(".job-thumbs img")).to_have_count(1)
    screenshot("job-stored-after-retry-download")
    assert Job.objects.count() == 1  # the same job, not a new one
    assert sandbox.calls("POST ds.generate") == 1
    assert sandbox.counters()["images_charged"] == 1


def test_a_catalog_the_provider_refuses_is_explained_once_and_fetched_again_on_request(
    page, screenshot, celery_worker, workspace, member, sandbox
):
    credential = workspace.credential
    credential.base_url = sandbox.url
    credential.save()
    sandbox.faults(route="nf.image_models", status=401)
    log_in(page, member.email)
    page.goto(f"/w/{workspace.slug}/generate/")
    loader = page.locator("#catalog-loading")
    expect(loader).to_contain_text("The provider refused the credential", timeout=20_000)
    screenshot("generate-catalog-refused")
    calls = sandbox.calls("GET nf.image_models")
    page.wait_for_timeout(5_000)  # more than two polling intervals
    assert sandbox.calls("GET nf.image_models") == calls  # polling stopped, nothing queued

    sandbox.clear_faults()
    page.get_by_role("button", name="Try again").click()
    expect(page.get_by_label("Model")).to_be_visible(timeout=20_000)
    assert sandbox.calls("GET nf.image_models") == calls + 1
