"""Organising and reviewing in a real browser: the keyboard review queue, collections, and the
gallery's bulk bar (range selection, add to a collection, download as a ZIP)."""

from __future__ import annotations

import re
import zipfile

import pytest
from playwright.sync_api import expect

from gallery.models import Collection, Favourite, Image, ReviewEvent, ReviewState
from tests.browser.test_foundation import log_in
from tests.gallery.pictures import picture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
COLOURS = [(194, 65, 12), (21, 128, 61), (37, 99, 235), (161, 98, 7), (126, 34, 206)]


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def four(workspace, owner) -> list[Image]:
    """Oldest first; landscape, portrait and square, so the pages show real proportions."""
    sizes = [(960, 540), (600, 800), (800, 800), (1024, 576)]
    return [
        picture(
            workspace,
            author=owner,
            prompt=f"image {n}: a lighthouse on a cliff at dusk, painted in thick oils",
            size=size,
            colour=COLOURS[n],
        )
        for n, size in enumerate(sizes)
    ]


def test_a_member_reviews_three_images_with_the_keyboard(page, screenshot, workspace, member, four):
    log_in(page, member.email)
    page.get_by_role("navigation", name="Workspace").get_by_role("link", name="Review").click()
    item = page.locator("#queue-item")
    status = page.locator("#queue-status")
    expect(item).to_contain_text("image 3")  # the newest unreviewed first
    page.wait_for_load_state()  # queue.js (deferred) listens from here on

    # J and K (or the arrows) move through the queue without judging.
    page.keyboard.press("j")
    expect(item).to_contain_text("image 2")
    page.keyboard.press("ArrowLeft")
    expect(item).to_contain_text("image 3")
    screenshot("review-queue")

    page.keyboard.press("a")
    expect(status).to_have_text("Approved — 3 left")
    expect(item).to_contain_text("image 2")
    expect(item).to_be_focused()

    # R goes to the reason; an empty one is refused by the browser, a typed one with Enter sends.
    page.keyboard.press("r")
    reason = page.get_by_label("Reason for rejecting")
    expect(reason).to_be_focused()
    page.keyboard.type("Too dark for the campaign")
    page.keyboard.press("Enter")
    expect(status).to_have_text("Rejected — 2 left")
    expect(item).to_contain_text("image 1")

    page.keyboard.press("n")
    expect(page.get_by_label("What needs to change")).to_be_focused()
    page.keyboard.type("Crop the left edge")
    page.keyboard.press("Enter")
    expect(status).to_have_text("Changes asked for — 1 left")
    expect(item).to_contain_text("image 0")

    page.keyboard.press("f")
    expect(page.get_by_role("button", name="Favourite")).to_have_attribute("aria-pressed", "true")

    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    screenshot("review-queue-shortcuts")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    events = ReviewEvent.objects.order_by("created_at", "id")
    assert [(e.image_id, e.to_state, e.note) for e in events] == [
        (four[3].pk, ReviewState.APPROVED, ""),
        (four[2].pk, ReviewState.REJECTED, "Too dark for the campaign"),
        (four[1].pk, ReviewState.NEEDS_CHANGES, "Crop the left edge"),
    ]
    assert Favourite.objects.get(user=member).image == four[0]

    page.set_viewport_size(PHONE)
    page.reload()
    expect(item).to_contain_text("image 0")
    screenshot("review-queue-phone")

    page.set_viewport_size({"width": 1280, "height": 800})
    page.get_by_role("button", name="Approve").click()  # the mouse works as well
    expect(page.get_by_role("heading", name="Nothing left to review")).to_be_visible()
    expect(status).to_have_text("Approved — all done")


def test_a_member_keeps_collections(page, screenshot, workspace, member, four):
    board = Collection.objects.create(workspace=workspace, name="Logo ideas", created_by=member)
    board.images.add(*four[:3])
    log_in(page, member.email)
    page.get_by_role("navigation", name="Workspace").get_by_role("link", name="Collections").click()
    expect(page.locator(".collection-card")).to_have_count(1)

    name = page.get_by_label("New collection")
    name.fill("Spring campaign")
    page.get_by_role("button", name="Create collection").click()
    expect(page.locator(".collection-card")).to_have_count(2)
    name.fill("spring CAMPAIGN")
    page.get_by_role("button", name="Create collection").click()
    expect(page.locator("#id_name_error")).to_contain_text("already a collection called")
    name.fill("")

    card = page.locator(".collection-card", has_text="Logo ideas")
    expect(card).to_contain_text("3 images")
    expect(card.locator(".collection-covers img")).to_have_count(3)
    card.get_by_text("Rename").click()
    card.get_by_label("New name for “Logo ideas”").fill("Logo sketches")
    card.get_by_role("button", name="Save name").click()
    expect(page.locator(".collection-card", has_text="Logo sketches")).to_have_count(1)
    screenshot("collections")

    page.set_viewport_size(PHONE)
    page.reload()
    screenshot("collections-phone")
    page.set_viewport_size({"width": 1280, "height": 800})

    # Opening one shows the gallery filtered by it.
    page.get_by_role("link", name="Logo sketches", exact=True).click()
    expect(page).to_have_url(f"{page.url.split('?')[0]}?collection={board.pk}")

    page.goto(f"/w/{workspace.slug}/collections/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("link", name="Delete the collection Spring campaign").click()
    expect(page.locator(".collection-card")).to_have_count(1)
    assert Image.objects.visible().count() == 4  # the images stay


def test_a_member_ticks_a_range_collects_it_and_downloads_two_as_a_zip(
    page, screenshot, workspace, member, four
):
    board = Collection.objects.create(workspace=workspace, name="Spring campaign")
    log_in(page, member.email)
    bar = page.locator("#bulk-form")
    expect(bar).to_be_hidden()  # nothing selected yet
    boxes = page.locator(".tile-select")
    boxes.nth(0).click()
    expect(bar).to_be_visible()
    expect(page.locator("#bulk-count")).to_have_text("1 selected")
    boxes.nth(2).click(modifiers=["Shift"])
    expect(page.locator("#bulk-count")).to_have_text("3 selected")
    expect(boxes.nth(1)).to_be_checked()

    page.get_by_label("Collection for the selected images").select_option(label="Spring campaign")
    page.get_by_role("button", name="Add to it").click()
    expect(page.locator("#toasts")).to_contain_text("Added to “Spring campaign”: 3 images.")
    assert set(board.images.all()) == {four[3], four[2], four[1]}  # newest first on the page

    boxes.nth(0).check()
    boxes.nth(3).check()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download ZIP").click()
    assert download.value.suggested_filename.startswith(f"darkroom-{workspace.slug}-")
    with zipfile.ZipFile(download.value.path()) as archive:
        names = archive.namelist()
    assert names[-1] == "manifest.csv"
    assert sorted(int(name.split("-")[0]) for name in names[:-1]) == [four[0].pk, four[3].pk]

    page.get_by_role("button", name="Clear selection").click()
    expect(bar).to_be_hidden()
    boxes.nth(1).check()
    page.get_by_role("button", name="Select all on this page").click()
    expect(page.locator("#bulk-count")).to_have_text("4 selected")
    screenshot("bulk-bar")

    # Reject asks for the reason before anything is sent; Delete asks first, too.
    page.get_by_role("button", name="Reject").click()
    expect(page.get_by_label("Reason for rejecting")).to_be_focused()
    expect(page.locator("#bulk-note-error")).to_have_text("Say why: the authors will read it.")
    page.once("dialog", lambda dialog: dialog.dismiss())
    with page.expect_event("dialog") as asked:
        page.get_by_role("button", name="Delete").click()
    assert asked.value.message == "Delete 4 images? Only those you may delete are deleted."
    expect(page.locator("#bulk-count")).to_have_text("4 selected")  # still here, nothing sent
    assert not ReviewEvent.objects.exists()
    assert Image.objects.visible().count() == 4
    page.set_viewport_size(PHONE)
    page.get_by_role("button", name="Dismiss").click()
    screenshot("bulk-bar-phone")


def test_select_all_in_the_filter_reaches_beyond_the_page(page, workspace, member, owner):
    for n in range(50):  # more than a page of 48
        picture(workspace, author=owner, prompt=f"tile {n}", colour=COLOURS[n % 5])
    log_in(page, member.email)
    page.locator(".tile-select").first.click()
    page.get_by_role("button", name="Select all on this page").click()
    expect(page.locator("#bulk-count")).to_have_text("48 selected")
    page.get_by_role("button", name="Select all 50 images in this filter").click()
    expect(page.locator("#bulk-count")).to_have_text("All 50 images in this filter selected")
    page.get_by_role("button", name="Approve").click()
    expect(page.locator("#toasts")).to_contain_text("Approved 50 images.")
    assert not Image.objects.exclude(review_state=ReviewState.APPROVED).exists()


def test_a_member_puts_an_image_into_collections_from_its_page(
    page, screenshot, workspace, member, four
):
    Collection.objects.create(workspace=workspace, name="Logo ideas")
    image = four[0]
    log_in(page, member.email)
    page.goto(f"/w/{workspace.slug}/images/{image.pk}/")
    panel = page.locator("#collections")
    expect(panel).to_contain_text("In no collection yet.")

    panel.get_by_label("Add to a collection").select_option(label="Logo ideas")
    panel.get_by_role("button", name="Add", exact=True).click()
    expect(panel.locator(".chip")).to_have_text([re.compile(r"^\s*Logo ideas\s*\u00d7")])

    panel.get_by_label("New collection").fill("logo IDEAS")
    panel.get_by_role("button", name="Create and add").click()
    expect(panel.locator("#new-collection-error")).to_contain_text("already a collection called")
    panel.get_by_label("New collection").fill("Moodboard")
    panel.get_by_role("button", name="Create and add").click()
    expect(panel.locator(".chip")).to_have_count(2)
    screenshot("image-collections")

    panel.get_by_role("button", name="Take out of Logo ideas").click()
    expect(panel.locator(".chip")).to_have_text([re.compile(r"^\s*Moodboard\s*\u00d7")])
    assert list(image.collections.values_list("name", flat=True)) == ["Moodboard"]
    page.set_viewport_size(PHONE)
    screenshot("image-collections-phone")
