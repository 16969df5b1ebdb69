from __future__ import annotations

import pytest
from playwright.sync_api import expect

from gallery.models import Job
from tests.browser.test_foundation import log_in
from tests.integration.test_outages import VolumeOutage, skip_unless_media_on_files

# A real worker runs the job too: browser and integration.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
]


@pytest.mark.worker_env(JOB_RETRY_BASE_SECONDS="3", JOB_RETRY_MAX_SECONDS="3")
def test_a_job_paid_while_the_storage_is_away_says_so_and_retry_download_stores_it(
    page, screenshot, start_worker, studio, member, sandbox, settings, tmp_path
):
    skip_unless_media_on_files()
    settings.JOB_MAX_ATTEMPTS = 3  # fixed on the job when it is submitted
    storage = VolumeOutage(tmp_path)
    settings.MEDIA_ROOT = storage.root
    start_worker(**storage.worker_env)
    storage.take_away()
    log_in(page, member.email)
    page.goto(f"/w/{studio.slug}/generate/")
    page.get_by_label("Prompt").fill("a harbour in the fog")
    page.get_by_role("button", name="Generate").click()

    card = page.locator("article.job").first
    expect(card).to_contain_text("Paid; the images are not stored yet", timeout=15_000)
    screenshot("job-paid-waiting-for-storage")
    expect(card.locator(".badge")).to_have_text("Failed", timeout=30_000)
    expect(card).to_contain_text("Paid, but the images are not stored")
    screenshot("job-paid-storage-gave-up")

    storage.bring_back()
    card.get_by_role("button", name="Retry download").click()
    expect(card.locator(".badge")).to_have_text("Done", timeout=30_000)
    expect(card.locator(".job-thumbs img")).to_have_count(1)
    screenshot("job-stored-after-storage-came-back")
    assert Job.objects.count() == 1
    assert sandbox.counters()["images_charged"] == 1
