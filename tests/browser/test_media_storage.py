"""Media in a private bucket seen in a real browser: the gallery's thumbnails and the image page's
original follow their redirects to presigned URLs, and the Content-Security-Policy lets them."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_foundation import log_in
from tests.gallery.pictures import picture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COLOURS = [(200, 80, 20), (30, 120, 200), (40, 160, 90), (220, 190, 40), (120, 60, 160)]


def every_image_shows(page) -> bool:
    # Not wait_for_function: the CSP forbids its eval.
    for _ in range(100):
        if page.evaluate("[...document.images].every((img) => img.complete)"):
            break
        page.wait_for_timeout(50)
    return page.evaluate("[...document.images].every((img) => img.naturalWidth > 0)")


def test_thumbnails_and_originals_come_from_the_bucket(page, screenshot, s3, workspace, member):
    images = [
        picture(
            workspace, author=member, prompt=f"a study in colour {n}", size=(640, 480), colour=c
        )
        for n, c in enumerate(COLOURS)
    ]
    log_in(page, member.email)
    from_bucket: list[str] = []
    page.on(
        "response",
        lambda r: from_bucket.append(r.url) if r.url.startswith(s3.endpoint_url) else None,
    )

    page.goto(f"/w/{workspace.slug}/")
    expect(page.locator(".tile")).to_have_count(5)
    assert every_image_shows(page)
    assert len([url for url in from_bucket if ".thumb.webp" in url]) == 5
    screenshot("media-s3-gallery")

    page.goto(f"/w/{workspace.slug}/images/{images[0].pk}/")
    expect(page.get_by_role("link", name="Download original")).to_be_visible()
    assert every_image_shows(page)
    assert any(images[0].file.name in url for url in from_bucket)
    screenshot("media-s3-image")
