"""The gallery page in a real browser: filters, chips, infinite scroll, Back, and how it looks."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from gallery.models import Favourite, ReviewState
from tests.browser.test_foundation import log_in
from tests.gallery.known_images import make_image, make_many

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def gallery(workspace, owner, member):
    """60 images of assorted ratios by the owner and the member, a few reviewed and liked."""
    images = make_many(workspace, [owner, member], 58, thumbnail=True)
    images.append(
        make_image(
            workspace,
            None,
            "made in the provider's own app",
            width=1920,
            height=1080,
            source="history",
            thumbnail=True,
        )
    )
    images.append(
        make_image(
            workspace,
            member,
            "a very long prompt: " + "a lighthouse on a cliff in a storm, oil painting, " * 4,
            width=1080,
            height=1920,
            review_state=ReviewState.APPROVED,
            thumbnail=True,
        )
    )
    images[-3].review_state = ReviewState.NEEDS_CHANGES
    images[-3].save(update_fields=["review_state"])
    Favourite.objects.create(user=member, image=images[-4])
    return images


def scroll_on_until(page, done, *, tries: int = 40) -> None:
    """Scroll down with the mouse wheel, as a person does, until `done()`. One scroll to the end
    is not always enough on a busy machine: thumbnails above that settle after it can leave the
    loading sentinel short of the view, and a person would simply scroll on."""
    for _ in range(tries):
        if done():
            return
        page.mouse.wheel(0, 1500)
        page.wait_for_timeout(250)


def load_every_image(page) -> None:
    """Scroll through the page so lazy images load, for a screenshot that shows them."""
    height = page.evaluate("document.body.scrollHeight")
    for y in range(0, height, 600):
        page.evaluate(f"window.scrollTo(0, {y})")
        page.wait_for_timeout(30)
    for _ in range(100):  # not wait_for_function: the CSP forbids its eval
        if page.evaluate("[...document.images].every((img) => img.complete)"):
            break
        page.wait_for_timeout(50)
    page.evaluate("window.scrollTo(0, 0)")


def test_a_member_filters_scrolls_and_goes_back(page, screenshot, workspace, member, gallery):
    log_in(page, member.email)
    page.goto(f"/w/{workspace.slug}/")
    tiles = page.locator(".tile")
    expect(tiles).to_have_count(48)
    expect(page.locator(".tile", has_text="made in the provider's own app")).to_contain_text(
        "Provider history"
    )
    expect(tiles.first).to_contain_text("You")

    # Scrolling to the end loads the next tiles in place.
    scroll_on_until(page, lambda: tiles.count() == 60)
    expect(tiles).to_have_count(60)
    expect(page.locator(".grid-more")).to_have_count(0)
    load_every_image(page)
    screenshot("gallery-desktop")

    # Typing a search filters without a reload; the address keeps the filter.
    page.get_by_role("searchbox", name="Search prompts").fill("fox")
    expect(page).to_have_url(re.compile(r"\?q=fox$"))
    expect(tiles).to_have_count(15)
    expect(page.locator(".chip")).to_have_count(1)
    expect(page.locator(".chip")).to_contain_text("“fox”")

    page.get_by_label("Author", exact=True).select_option(label="Me")
    expect(page).to_have_url(re.compile(r"\?q=fox&author=me$"))
    for tile in tiles.all():
        expect(tile.locator(".tile-author")).to_have_text("You")
    expect(page.locator(".chip")).to_have_count(2)
    screenshot("gallery-filtered")

    # Back: the previous filter, in the grid and in the form.
    page.go_back()
    expect(page).to_have_url(re.compile(r"\?q=fox$"))
    expect(tiles).to_have_count(15)
    expect(page.get_by_label("Author", exact=True)).to_have_value("")
    expect(page.get_by_role("searchbox", name="Search prompts")).to_have_value("fox")

    # The remove button of a chip drops its filter.
    page.get_by_role("link", name="Remove the filter “fox”").click()
    expect(page).to_have_url(re.compile(rf"/w/{workspace.slug}/$"))
    expect(page.locator(".chip")).to_have_count(0)
    page.wait_for_load_state()  # htmx listens from DOMContentLoaded on

    # Nothing matches: said so, with a way out.
    page.get_by_role("searchbox", name="Search prompts").fill("zebra")
    expect(page.get_by_role("heading", name="No images match these filters")).to_be_visible()
    screenshot("gallery-no-match")
    page.get_by_role("link", name="Clear filters").click()
    expect(tiles).to_have_count(48)

    # A date range that ends before it starts: said next to the field; the rest still applies.
    page.goto(f"/w/{workspace.slug}/?q=fox&since=2099-05-02&until=2099-05-01")
    expect(page.locator("#id_until_error")).to_have_text("The end date is before the start date.")
    expect(tiles).to_have_count(0)  # "from 2 May 2099" still applies
    page.get_by_label("From", exact=True).fill("")
    expect(tiles).to_have_count(15)
    expect(page.locator("#id_until_error")).to_be_empty()
    until = page.get_by_label("To", exact=True)
    expect(until).to_have_css("border-color", "rgb(222, 220, 214)")  # the usual border, not red
    screenshot("gallery-date-error")


def test_two_columns_on_a_phone(page, screenshot, workspace, member, gallery):
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, member.email)
    page.goto(f"/w/{workspace.slug}/")
    # The filters fold away under one button, so the images start on the first screen.
    expect(page.get_by_label("Author", exact=True)).to_be_hidden()
    assert page.locator(".tile").first.bounding_box()["y"] < 600
    first, second, third = (page.locator(".tile").nth(i).bounding_box() for i in range(3))
    assert first["y"] == second["y"]  # side by side
    assert third["y"] > first["y"]  # and the third below
    assert first["width"] > 150
    load_every_image(page)
    screenshot("gallery-phone")
    page.get_by_text("Filters", exact=True).click()
    page.get_by_label("Author", exact=True).select_option(label="Me")
    expect(page).to_have_url(re.compile(r"\?author=me$"))
    expect(page.get_by_text("Filters (1)", exact=True)).to_be_visible()
    screenshot("gallery-phone-filters")


def test_selection_boxes_are_faint_until_hovered_and_stay_once_one_is_ticked(
    page, screenshot, workspace, member, gallery
):
    log_in(page, member.email)
    page.goto(f"/w/{workspace.slug}/")
    first, second = page.locator(".tile").nth(0), page.locator(".tile").nth(1)
    expect(second.locator(".tile-select")).to_have_css("opacity", "0.5")  # there to be found
    first.hover()
    expect(first.locator(".tile-select")).to_have_css("opacity", "1")
    first.get_by_role("checkbox").check()
    page.mouse.move(0, 0)
    expect(second.locator(".tile-select")).to_have_css("opacity", "1")  # every box, now
    page.emulate_media(color_scheme="dark")
    screenshot("gallery-selecting-dark")
