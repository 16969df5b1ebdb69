"""Darkroom in German in a real browser: log in with a German browser, pick Deutsch in the account
menu, and a screenshot of each main page at desktop and phone width (var/screenshots/de-*.png)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.api_tokens import api_token_create
from gallery.models import Webhook, WebhookDelivery
from gallery.services.budgets import notify_member_threshold
from gallery.services.webhook_delivery import RECEIVER_REFUSED
from tests.factories import DEFAULT_PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}
PAGES = [
    ("gallery:home", "Generieren"),
    ("gallery:generate", "Generieren"),
    ("gallery:review_queue", "Prüfen"),
    ("gallery:collections", "Sammlungen"),
    ("gallery:usage", "Verbrauch"),
    ("accounts:settings_members", "Mitglieder"),
    ("accounts:settings_provider", "Zugangsdaten des Anbieters"),
    ("gallery:settings_budgets", "Budgets"),
    ("tokens:list", "API-Tokens"),
    ("gallery:settings_webhooks", "Webhooks"),
    ("gallery:compare", "Modelle vergleichen"),
    ("gallery:notifications", "Benachrichtigungen"),
    ("accounts:settings_general", "Verlassen oder löschen"),
    ("staff_users", "Nutzer"),
]


def _recent_activity(owner, studio) -> None:
    """Something on the pages that show stored texts: a budget notification, a failed webhook
    delivery, a token and a ledger entry in dollars."""
    owner.is_staff = True
    owner.save(update_fields=["is_staff"])
    notify_member_threshold(
        workspace=studio, user=owner, used=Decimal(40), limit=Decimal(50), unit="images"
    )
    webhook = Webhook.objects.create(
        workspace=studio, url="https://hooks.example/darkroom", secret_encrypted="x"
    )
    WebhookDelivery.objects.create(
        webhook=webhook,
        event="webhook.test",
        payload={},
        state="failed",
        attempts=1,
        error=RECEIVER_REFUSED % {"status": 404},
    )
    membership = owner.memberships.get(workspace=studio)
    api_token_create(membership=membership, name="CI", role="member")


def test_a_german_team_uses_darkroom_in_german(page, screenshot, owner, studio):
    _recent_activity(owner, studio)
    page.context.set_extra_http_headers({"Accept-Language": "de-DE,de;q=0.9"})
    page.goto(reverse("login"))
    expect(page.get_by_role("button", name="Anmelden")).to_be_visible()
    page.get_by_label("E-Mail-Adresse").fill(owner.email)
    page.get_by_label("Passwort").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Anmelden").click()
    expect(page.locator("html")).to_have_attribute("lang", "de")
    # The choice in the account menu, kept on the user: an English browser then still gets German.
    page.locator(".usermenu summary").click()
    page.get_by_role("button", name="Deutsch").click()
    page.context.set_extra_http_headers({"Accept-Language": "en"})
    for name, text in PAGES:
        page.set_viewport_size({"width": 1280, "height": 800})
        page.goto(reverse(name) if name == "staff_users" else reverse(name, args=[studio.slug]))
        expect(page.locator("main")).to_contain_text(text)
        if name != "staff_users":  # outside any workspace: no workspace navigation
            expect(page.locator(".mainnav")).to_contain_text("Galerie")
        expect(page.locator("html")).to_have_attribute("lang", "de")
        slug = name.split(":")[-1]
        screenshot(f"de-{slug}")
        page.set_viewport_size(PHONE)
        screenshot(f"de-{slug}-phone")
