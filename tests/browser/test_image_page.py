"""One image in a real browser: review, comment, favourite, copy, zoom, ← →, and the lightbox."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.core.files.base import ContentFile
from django.utils import timezone
from PIL import Image as Picture
from playwright.sync_api import expect

from gallery.models import Comment, Favourite, Image, Job, ReviewState
from tests.browser.conftest import SCREENSHOTS
from tests.browser.test_foundation import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

COLOURS = ["#1e3a5f", "#c2410c", "#15803d", "#7c3aed"]


def _png(width: int, height: int, colour: str, format: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Picture.new("RGB", (width, height), colour).save(buffer, format)
    return buffer.getvalue()


@pytest.fixture
def gallery(workspace, member):
    """Four stored images a minute apart (the last the newest); the third is an edit of the
    second, made by a job with parameters and a cost."""
    job = Job.objects.create(
        workspace=workspace,
        author=member,
        prompt="the same lighthouse, at night with stars",
        model_id="seedream-4",
        idempotency_key="k",
        params={"n": 1, "aspect_ratio": "16:9", "output_format": "png"},
        cost=Decimal("2"),
        currency="credits",
        batch_id="batch-5f1c2a9e",
    )
    start = timezone.now() - dt.timedelta(hours=1)
    made: list[Image] = []
    prompts = [
        "a foggy harbour at dawn",
        "a red lighthouse on a cliff at dusk, waves crashing below",
        job.prompt,
        "a field of sunflowers under a storm",
    ]
    for i, prompt in enumerate(prompts):
        width, height = (1600, 900) if i != 1 else (1200, 1200)
        image = Image.objects.create(
            workspace=workspace,
            author=member,
            prompt=prompt,
            model_id="seedream-4",
            job=job if i == 2 else None,
            parent=made[1] if i == 2 else None,
            provider_image_id=f"img-{i}-8d2f",
            width=width,
            height=height,
            format="png",
        )
        data = _png(width, height, COLOURS[i])
        image.file.save(f"{image.pk}.png", ContentFile(data), save=False)
        thumbnail = _png(240, 160, COLOURS[i], "WEBP")
        image.thumbnail.save(f"{image.pk}.thumb.webp", ContentFile(thumbnail))  # as ingest does
        Image.objects.filter(pk=image.pk).update(
            created_at=start + dt.timedelta(minutes=i), bytes=len(data)
        )
        made.append(image)
    return made


def test_a_member_reviews_comments_favourites_and_moves_on(
    page, screenshot, workspace, member, gallery
):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    edit = gallery[2]
    log_in(page, member.email)
    page.goto(f"/w/{workspace.slug}/images/{edit.pk}/")
    expect(page.locator("h1")).to_have_text(edit.prompt)
    expect(page.locator(".facts")).to_contain_text("Edited from")
    expect(page.locator(".facts")).to_contain_text("2 images of the quota")
    expect(page.locator(".facts")).to_contain_text("batch-5f1c2a9e")
    lineage = page.get_by_role("region", name="Lineage")
    expect(lineage.get_by_role("link")).to_have_count(1)  # the original
    screenshot("image-detail-desktop")

    # Rejecting needs a reason: asked for next to the field, then recorded with it.
    review = page.locator("#review")
    review.get_by_role("button", name="Reject").click()
    expect(review.locator(".field-invalid")).to_contain_text("Say why it is rejected")
    expect(review.get_by_label("Reason or note")).to_be_focused()
    screenshot("image-detail-review-error")
    review.get_by_label("Reason or note").fill("The stars look painted on")
    review.get_by_role("button", name="Reject").click()
    expect(review.locator("[data-review-state]")).to_have_text("Rejected")
    expect(review.locator(".history")).to_contain_text("The stars look painted on")
    expect(review.get_by_label("Reason or note")).to_have_value("")
    edit.refresh_from_db()
    assert edit.review_state == ReviewState.REJECTED

    # A comment shows as text, whatever it contains.
    comments = page.locator("#comments")
    comments.get_by_label("Comment").fill("Try <b>fewer</b> stars\nand a brighter moon")
    comments.get_by_role("button", name="Add comment").click()
    expect(comments.locator(".comment-body")).to_have_text(
        "Try <b>fewer</b> stars\nand a brighter moon", use_inner_text=True
    )
    assert Comment.objects.get().body.startswith("Try <b>")

    # ♥, pressed and remembered for this member only.
    favourite = page.get_by_role("button", name="Favourite")
    expect(favourite).to_have_attribute("aria-pressed", "false")
    favourite.click()
    expect(page.get_by_role("button", name="Favourite")).to_have_attribute("aria-pressed", "true")
    assert Favourite.objects.filter(image=edit, user=member).exists()

    # Copy prompt says so; zoom shows the actual pixels and back.
    page.get_by_role("button", name="Copy prompt").click()
    expect(page.locator("[data-copied]")).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == edit.prompt
    zoom = page.get_by_role("button", name="Actual size (100 %)")
    zoom.click()
    expect(page.locator("figure.image-main")).to_have_class(re.compile("is-actual"))
    expect(page.get_by_role("button", name="Fit to the page")).to_have_attribute(
        "aria-pressed", "true"
    )
    page.locator("figure.image-main img").click()  # the image itself toggles back
    expect(page.locator("figure.image-main")).not_to_have_class(re.compile("is-actual"))
    screenshot("image-detail-reviewed")

    # → goes to the next image of the gallery (newest first: the older one).
    page.locator("body").press("ArrowRight")
    expect(page).to_have_url(re.compile(rf"/images/{gallery[1].pk}/$"))
    expect(page.locator("h1")).to_have_text(gallery[1].prompt)
    expect(page.get_by_role("region", name="Lineage")).to_contain_text("Edits of this image")

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/w/{workspace.slug}/images/{edit.pk}/")
    expect(page.locator("#review [data-review-state]")).to_have_text("Rejected")
    screenshot("image-detail-phone")
    page.emulate_media(color_scheme="dark")
    screenshot("image-detail-phone-dark")


def test_arrows_keep_the_filter_and_skip_what_it_leaves_out(page, workspace, member, gallery):
    for image in (gallery[0], gallery[3]):
        Image.objects.filter(pk=image.pk).update(review_state=ReviewState.APPROVED)
    log_in(page, member.email)
    page.goto(f"/w/{workspace.slug}/images/{gallery[3].pk}/?review=approved")
    expect(page.locator("[data-nav='prev']")).to_have_count(0)
    page.locator("body").press("ArrowRight")
    expect(page).to_have_url(re.compile(rf"/images/{gallery[0].pk}/\?review=approved$"))
    page.wait_for_load_state()  # the keys work once image.js has run
    page.locator("body").press("ArrowLeft")
    expect(page).to_have_url(re.compile(rf"/images/{gallery[3].pk}/\?review=approved$"))


def _viewport_shot(page, name: str) -> None:
    """What the screen shows: a full-page capture misplaces a modal dialog (it is fixed to the
    viewport, which a full-page capture stretches)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def test_the_lightbox_opens_moves_and_gives_the_focus_back(page, workspace, member, gallery):
    """A tile opens the image in a modal dialog over the gallery."""
    log_in(page, member.email)
    page.goto(f"/w/{workspace.slug}/")
    tile = page.locator(f'a.tile-link[href$="/images/{gallery[2].pk}/"]')
    expect(tile).to_be_visible()
    tile.focus()
    page.keyboard.press("Enter")
    dialog = page.locator("dialog.lightbox")
    expect(dialog).to_be_visible()
    expect(dialog.locator("h1")).to_have_text(gallery[2].prompt)
    assert page.evaluate("document.querySelector('dialog.lightbox').matches(':modal')")
    expect(dialog.locator("figure img")).to_have_js_property("naturalWidth", 1600)  # loaded
    _viewport_shot(page, "image-lightbox")

    page.keyboard.press("ArrowRight")  # inside the lightbox: the next image, swapped in
    expect(dialog.locator("h1")).to_have_text(gallery[1].prompt)
    expect(page).to_have_url(re.compile(rf"/w/{workspace.slug}/$"))  # still the gallery
    dialog.get_by_role("button", name="Favourite").click()
    expect(dialog.get_by_role("button", name="Favourite")).to_have_attribute("aria-pressed", "true")

    page.keyboard.press("Escape")
    expect(page.locator("dialog.lightbox")).to_have_count(0)
    # The focus is back on the tile of the image last shown.
    focused = page.evaluate("document.activeElement.getAttribute('href')")
    assert focused.endswith(f"/images/{gallery[1].pk}/")

    tile.click()
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Close").click()
    expect(page.locator("dialog.lightbox")).to_have_count(0)
    dialog_link = f"/images/{gallery[2].pk}/"
    assert page.evaluate("document.activeElement.getAttribute('href')").endswith(dialog_link)

    page.set_viewport_size({"width": 390, "height": 844})
    tile.click()
    expect(dialog.locator("figure img")).to_have_js_property("naturalWidth", 1600)
    dialog.evaluate("dialog => dialog.scrollTo(0, 600)")
    expect(dialog.get_by_role("button", name="Close")).to_be_in_viewport()
    _viewport_shot(page, "image-lightbox-phone")


def test_without_javascript_everything_still_works_through_links_and_forms(
    browser, live_server, workspace, member, gallery
):
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    try:
        image = gallery[2]
        log_in(page, member.email)
        page.goto(f"/w/{workspace.slug}/images/{image.pk}/?review=unreviewed")
        expect(page.get_by_role("button", name="Copy prompt")).to_be_hidden()
        expect(page.get_by_role("button", name="Actual size (100 %)")).to_be_hidden()
        expect(page.locator("a.zoom")).to_have_attribute(
            "href", f"/w/{workspace.slug}/images/{image.pk}/file/"
        )

        page.locator("#review").get_by_role("button", name="Needs changes").click()
        expect(page.locator("#review .field-invalid")).to_contain_text("Say what needs to change")
        page.get_by_label("Reason or note").fill("Warmer light, please")
        page.locator("#review").get_by_role("button", name="Needs changes").click()
        expect(page).to_have_url(re.compile(rf"/images/{image.pk}/\?review=unreviewed$"))
        expect(page.locator("#review [data-review-state]")).to_have_text("Needs changes")

        page.get_by_role("textbox", name="Comment").fill("On it")
        page.get_by_role("button", name="Add comment").click()
        expect(page.locator("#comments .comment-body")).to_have_text("On it")
        page.get_by_role("button", name="Favourite").click()
        expect(page.get_by_role("button", name="Favourite")).to_have_attribute(
            "aria-pressed", "true"
        )

        page.get_by_role("button", name="Delete image").click()
        expect(page.locator("#confirm-delete")).to_contain_text("It cannot be undone.")
        page.screenshot(path=str(SCREENSHOTS / "image-detail-no-js-delete.png"), full_page=True)
        page.get_by_role("button", name="Delete for good").click()
        expect(page).to_have_url(re.compile(rf"/w/{workspace.slug}/\?review=unreviewed$"))
        image.refresh_from_db()
        assert image.deleted_at is not None
    finally:
        context.close()
