from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from gallery.models import WebhookDelivery
from gallery.services import webhook_delivery, webhooks
from tests.browser.test_foundation import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_admin_adds_a_webhook_copies_its_secret_and_sees_a_test_event_arrive(
    page, screenshot, owner, workspace, receiver, monkeypatch
):
    # No worker here: the test delivers the queued event itself, as one would.
    monkeypatch.setattr(webhooks, "send_task_on_commit", lambda *args, **kwargs: None)
    log_in(page, owner.email)
    page.goto(f"/w/{workspace.slug}/settings/")
    page.get_by_role("navigation", name="Settings sections").get_by_role(
        "link", name="Webhooks"
    ).click()
    expect(page.get_by_role("heading", name="Webhook", exact=True)).to_be_visible()

    page.get_by_label("Receiver URL").fill("http://10.0.0.8/hooks")
    page.get_by_role("button", name="Add webhook").click()
    expect(page.locator("#id_url_error")).to_contain_text("10.0.0.8 is a private address")
    expect(page.get_by_label("Receiver URL")).to_have_value("http://10.0.0.8/hooks")
    screenshot("settings-webhooks-refused")

    page.get_by_label("Receiver URL").fill(receiver.url)
    page.get_by_label("A job failed (job.failed)").uncheck()
    page.get_by_role("button", name="Add webhook").click()
    secret = page.get_by_label("New signing secret")
    expect(secret).to_have_value(re.compile(r"^whsec_"))
    screenshot("settings-webhooks-secret")

    receiver.answer(503)
    page.get_by_role("button", name="Send a test event").click()
    row = page.locator("#deliveries tbody tr").first
    expect(row).to_contain_text("webhook.test")
    expect(row).to_contain_text("waiting")
    delivery = WebhookDelivery.objects.get()
    webhook_delivery.webhook_deliver(delivery_id=delivery.pk)
    expect(row).to_contain_text("503 retrying")  # the list polls while an attempt is due
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=delivery.created_at)
    webhook_delivery.webhook_deliver(delivery_id=delivery.pk)
    expect(row).to_contain_text("200 delivered")
    expect(row).to_contain_text("2 of 6")
    row.get_by_text("All 2 attempts").click()
    expect(row).to_contain_text("The receiver answered 503.")
    screenshot("settings-webhooks")

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/w/{workspace.slug}/webhooks/")  # a later visit
    expect(page.get_by_label("New signing secret")).to_have_count(0)  # shown once only
    screenshot("settings-webhooks-390")

    page.set_viewport_size({"width": 1280, "height": 900})
    page.get_by_text("Remove webhook…").click()
    expect(page.get_by_text("not even the retries that are waiting")).to_be_visible()
    screenshot("settings-webhooks-remove")
    page.get_by_role("button", name="Remove the webhook").click()
    expect(page.locator(".toast")).to_contain_text(
        "Webhook removed: nothing more is sent to 127.0.0.1."
    )
    expect(page.get_by_role("button", name="Add webhook")).to_be_visible()
    expect(page.locator("#deliveries")).to_have_count(0)
