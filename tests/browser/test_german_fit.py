"""German on small screens and in a 1280 px header: nothing wider than the screen, nothing cut
(walkthrough 15). Screenshots: var/screenshots/fit-*.png."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import AuditEvent, AuditVerb
from gallery.models import ProcessHeartbeat, QuotaSnapshot
from tests.factories import DEFAULT_PASSWORD
from tests.gallery.known_images import make_image

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}


def _log_in(page, user, language: str) -> None:
    page.context.set_extra_http_headers({"Accept-Language": language})
    page.goto(reverse("login"))
    page.locator("#id_username").fill(user.email)
    page.locator("#id_password").fill(DEFAULT_PASSWORD)
    page.locator("form button[type=submit]").click()
    expect(page.locator("html")).to_have_attribute("lang", re.compile(f"^{language}"))


def _page_width(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth")


def _setup(owner, studio) -> None:
    owner.is_staff = True
    owner.save(update_fields=["is_staff"])
    now = timezone.now()
    ProcessHeartbeat.objects.create(
        name="celery@worker-1.darkroom.internal",
        role="worker",
        started_at=now - dt.timedelta(hours=3),
        seen_at=now,
    )
    AuditEvent.objects.create(
        workspace=None,
        actor=owner,
        verb=AuditVerb.WORKSPACE_DELETED,
        target="Brand Studio",
        detail="/w/brand-studio/ with 6 images",
    )
    make_image(studio, owner, "a red lighthouse at dusk", thumbnail=True)
    QuotaSnapshot.objects.create(
        workspace=studio,
        kind="credits",
        monthly_used=0,
        monthly_limit=1000,
        daily_used=0,
        daily_limit=100,
    )


@pytest.mark.parametrize("language", ["de", "en"])
def test_phone_pages_fit_the_screen_and_desktop_header_keeps_one_row(
    page, screenshot, owner, studio, language
):
    _setup(owner, studio)
    _log_in(page, owner, language)
    image = studio.images.get()
    pages = {
        "ops": reverse("ops"),
        "users": reverse("staff_users"),
        "members": reverse("accounts:settings_members", args=[studio.slug]),
        "gallery": reverse("gallery:home", args=[studio.slug]),
        "image": reverse("gallery:image_detail", args=[studio.slug, image.pk]),
        "delete": reverse("gallery:workspace_delete", args=[studio.slug]),
    }
    for name, url in pages.items():
        page.set_viewport_size(DESKTOP)
        page.goto(url)
        if name != "ops" and name != "users":
            # Logo, nav, meter, bell and avatar on one row: the avatar as high as the nav.
            nav = page.locator(".mainnav").bounding_box()
            avatar = page.locator(".usermenu summary").bounding_box()
            assert abs(avatar["y"] + avatar["height"] / 2 - (nav["y"] + nav["height"] / 2)) < 12
        assert _page_width(page) <= DESKTOP["width"], name
        screenshot(f"fit-{language}-{name}")
        page.set_viewport_size(PHONE)
        assert _page_width(page) <= PHONE["width"], name
        screenshot(f"fit-{language}-{name}-phone")
    # The settings tabs wrap on a phone: the last one is in view, not cut behind the edge.
    page.goto(pages["members"])
    last = page.locator(".tabs a").last.bounding_box()
    assert last["x"] + last["width"] <= PHONE["width"]
    # The installation log's detail in the reader's language.
    page.goto(pages["users"])
    detail = "mit 6 Bildern" if language == "de" else "with 6 images"
    expect(page.locator("table.audit")).to_contain_text(f"/w/brand-studio/ {detail}")
