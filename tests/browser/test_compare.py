"""Compare models in a real browser: pick three, watch the total, compare, pick a winner."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from gallery.models import Comparison, Favourite, Job, QuotaSnapshot
from tests.browser.test_foundation import log_in
from tests.gallery.running import run_until_done

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


def test_a_member_compares_three_models_and_favourites_the_winner(
    page, screenshot, studio, member, settings
):
    settings.JOB_HEARTBEAT_SECONDS = 3600  # the jobs run in this test's thread, one at a time
    QuotaSnapshot.objects.create(
        workspace=studio, kind="credits", monthly_available=40, monthly_limit=100, monthly_used=60
    )
    log_in(page, member.email)
    page.goto(f"/w/{studio.slug}/generate/")
    screenshot("generate-compare-link")
    page.get_by_role("link", name="Compare models").click()
    expect(page.locator("h1")).to_have_text("Compare models")

    page.get_by_label("Prompt").fill("a red lighthouse on a cliff at dusk")
    for model_id in ("nano-banana-2", "imagen-4", "seedream-4"):
        page.locator(f'input[name="models"][value="{model_id}"]').check()
    total = page.locator("#compare-cost")
    expect(total).to_have_text(
        "Total: 3 models · 3 images of the workspace quota · leaves 37 this month"
    )
    panels = page.locator(".pick-panel")
    expect(panels).to_have_count(3)
    nano = panels.filter(has_text="Nano Banana 2")
    nano.get_by_label("Images").select_option("2")
    expect(total).to_have_text(
        "Total: 3 models · 4 images of the workspace quota · leaves 36 this month"
    )
    expect(nano.locator(".pick-cost")).to_have_text("Cost: 2 images of the workspace quota")
    panels.filter(has_text="Imagen 4").get_by_label("Aspect ratio").select_option("16:9")
    screenshot("compare-form")
    page.set_viewport_size(PHONE)
    screenshot("compare-form-390")
    page.set_viewport_size(DESKTOP)

    page.get_by_role("button", name="Compare models").click()
    expect(page).to_have_url(re.compile(r"/w/studio/compare/\d+/$"))
    columns = page.locator(".compare-col")
    expect(columns).to_have_count(3)
    expect(columns.first.locator(".badge").first).to_have_text(re.compile("Queued|Running"))
    screenshot("comparison-waiting")

    comparison = Comparison.objects.get()
    jobs = list(comparison.jobs.order_by("pk"))
    assert [job.params.get("aspect_ratio") for job in jobs] == ["1:1", "16:9", "1:1"]
    for job in jobs:
        run_until_done(job)
    for column in columns.all():
        expect(column.locator(".job .badge")).to_have_text("Done", timeout=15_000)
    expect(page.locator(".compare-result img")).to_have_count(4)
    expect(page.locator("#compare-results")).not_to_have_attribute("hx-trigger", "every 2s")

    winner = columns.nth(1)
    expect(winner.locator(".job-model")).to_have_text("Imagen 4")
    favourite = winner.get_by_role("button", name="Favourite")
    favourite.click()
    expect(winner.get_by_role("button", name="Favourite")).to_have_attribute("aria-pressed", "true")
    winner.get_by_role("button", name="Approve").click()
    expect(winner.locator("[data-review-state]")).to_have_text("Approved")
    expect(winner.get_by_role("button", name="Approve")).to_have_count(0)
    image = Job.objects.get(pk=jobs[1].pk).images.get()
    assert Favourite.objects.filter(user=member, image=image).exists()
    image.refresh_from_db()
    assert image.review_state == "approved"
    screenshot("comparison")
    page.set_viewport_size(PHONE)
    screenshot("comparison-390")
    page.set_viewport_size(DESKTOP)

    page.get_by_role("link", name="← Comparisons").click()
    past = page.locator(".past-row")
    expect(past).to_have_count(1)
    expect(past.locator(".past-thumb img")).to_have_count(3)
    screenshot("compare-past")
