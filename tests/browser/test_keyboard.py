"""The keyboard alone: generate an image and open it, close the header menus with Escape; and the
colours that axe cannot judge (focus rings, the avatar's initial, hidden from screen readers)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.models import Notification
from gallery.models import Job
from tests.browser.test_foundation import log_in
from tests.gallery.running import run_until_done

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _jobs_in_this_thread(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.JOB_HEARTBEAT_SECONDS = 3600  # the job runs in the test's thread, as a worker would


def tab_to(page, target, *, limit: int = 40) -> int:
    """Press Tab until `target` has the focus; fails past `limit` presses. Returns the count."""
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return presses
    raise AssertionError(f"{limit} Tabs never reached {target}")


def test_a_member_generates_and_opens_the_new_image_with_the_keyboard_only(
    page, screenshot, studio, member
):
    log_in(page, member.email)
    page.goto(f"/w/{studio.slug}/generate/")
    # Skip the header, then Tab to the prompt and type.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    assert tab_to(page, page.get_by_label("Prompt")) <= 3
    page.keyboard.type("a lighthouse drawn in ink")
    tab_to(page, page.get_by_role("button", name="Generate"), limit=10)
    page.keyboard.press("Enter")

    # The focus lands on the new job's card (not on <body>), and the change is announced.
    job = page.locator("article.job").first
    expect(job).to_contain_text("a lighthouse drawn in ink")
    expect(job).to_be_focused()
    expect(job).to_have_accessible_name(re.compile(r"^(Queued|Running) a lighthouse drawn in ink"))
    expect(page.locator("#announcer")).to_have_text("Job queued: a lighthouse drawn in ink")
    screenshot("keyboard-job-focused")

    # The card polls and is swapped while the job runs; the focus stays on it.
    run_until_done(Job.objects.get())
    expect(job.locator(".badge")).to_have_text("Done", timeout=15_000)
    expect(job).to_be_focused()
    expect(page.locator("#announcer")).to_have_text("Done: a lighthouse drawn in ink")

    page.keyboard.press("Tab")
    thumbnail = job.get_by_role("link", name="Open image")
    expect(thumbnail).to_be_focused()
    expect(thumbnail).to_have_accessible_description("a lighthouse drawn in ink")
    screenshot("keyboard-thumbnail-focused")
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("a lighthouse drawn in ink")
    expect(page).to_have_url(re.compile(r"/w/studio/images/\d+/$"))


def test_a_refused_prompt_puts_the_focus_on_the_field_to_fix(page, studio, member):
    log_in(page, member.email)
    page.goto(f"/w/{studio.slug}/generate/")
    page.get_by_role("button", name="Generate").focus()
    page.keyboard.press("Enter")  # no prompt
    prompt = page.get_by_label("Prompt")
    expect(prompt).to_have_attribute("aria-invalid", "true")
    expect(prompt).to_be_focused()
    assert Job.objects.count() == 0


@pytest.mark.parametrize("menu", ["usermenu", "bell", "switcher"])
def test_escape_closes_an_open_header_menu_and_gives_the_focus_back(page, studio, owner, menu):
    log_in(page, owner.email)
    details = page.locator(f"details.{menu}")
    summary = details.locator(":scope > summary")
    summary.focus()
    page.keyboard.press("Enter")
    expect(details).to_have_attribute("open", "")
    expect(summary).to_have_attribute("aria-expanded", "true")
    page.keyboard.press("Tab")  # into the panel
    assert details.evaluate("menu => menu.contains(document.activeElement)")
    expect(summary).not_to_be_focused()

    page.keyboard.press("Escape")
    expect(details).not_to_have_attribute("open", "")
    expect(summary).to_be_focused()
    expect(summary).to_have_attribute("aria-expanded", "false")


def test_the_account_menu_is_named_by_the_name_it_shows(page, studio, owner):
    log_in(page, owner.email)
    summary = page.locator("details.usermenu > summary")
    name = re.compile(rf"^{re.escape(owner.display_name)}\s*\(account menu\)$")
    for width in (1600, 1280, 390):  # the name shows at 1600 px; the avatar alone below
        page.set_viewport_size({"width": width, "height": 800})
        # Its name starts with the name it shows (WCAG 2.5.3, label in name).
        expect(summary).to_have_accessible_name(name)
        assert summary.evaluate("el => el.hasAttribute('aria-label')") is False
    page.set_viewport_size({"width": 1600, "height": 800})
    expect(summary.locator(".usermenu-name")).to_be_visible()
    expect(summary.locator(".usermenu-name")).to_have_text(owner.display_name)


# --- Colours ----------------------------------------------------------------------------------

_COLOURS = """(el) => {
  const style = getComputedStyle(el);
  const backgroundOf = (node) => {
    for (; node; node = node.parentElement) {
      const bg = getComputedStyle(node).backgroundColor;
      if (bg && bg !== "rgba(0, 0, 0, 0)" && bg !== "transparent") return bg;
    }
    return "rgb(255, 255, 255)";
  };
  return {
    color: style.color,
    outline: style.outlineColor,
    border: style.borderTopColor,
    outlineStyle: style.outlineStyle,
    outlineWidth: parseFloat(style.outlineWidth),
    background: backgroundOf(el),
    around: backgroundOf(el.parentElement),
  };
}"""


def rgba(css: str) -> list[float]:
    """A computed colour as [r, g, b, alpha], r, g, b in 0..255: `rgb()`/`rgba()`, or the
    `color(srgb …)` that a color-mix() computes to."""
    numbers = [float(n) for n in re.findall(r"[\d.]+", css)]
    if css.startswith("color(srgb"):
        r, g, b, *alpha = numbers
        return [r * 255, g * 255, b * 255, alpha[0] if alpha else 1.0]
    assert css.startswith("rgb"), css
    return [*numbers[:3], numbers[3] if len(numbers) > 3 else 1.0]


def _luminance(rgba: list[float]) -> float:
    def channel(value: float) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgba[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def over(colour: list[float], backdrop: list[float]) -> list[float]:
    """`colour` (maybe translucent) as seen on the opaque `backdrop`."""
    alpha = colour[3]
    return [alpha * c + (1 - alpha) * b for c, b in zip(colour[:3], backdrop[:3], strict=True)]


def contrast(a: list[float], b: list[float]) -> float:
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_focus_rings_the_avatar_and_the_bell_count_have_enough_contrast(page, studio, owner, theme):
    # axe leaves these out: the avatar is hidden from screen readers, the count too short to judge.
    Notification.objects.create(workspace=studio, recipient=owner, kind="request_new", text="n")
    page.emulate_media(color_scheme=theme)
    log_in(page, owner.email)
    page.goto(f"/w/{studio.slug}/generate/")
    for field in (page.get_by_label("Prompt"), page.get_by_label("Model")):
        field.focus()
        colours = field.evaluate(_COLOURS)
        assert colours["outlineStyle"] == "solid"
        assert colours["outlineWidth"] >= 2
        # WCAG 1.4.11: the ring (drawn outside the border) against the card around it, and the
        # border it joins against the field inside.
        around, inside = rgba(colours["around"]), rgba(colours["background"])
        assert contrast(over(rgba(colours["outline"]), around), around) >= 3, colours
        assert contrast(over(rgba(colours["border"]), inside), inside) >= 3, colours

    for small_text in (".usermenu .avatar", ".bell-count"):
        colours = page.locator(small_text).evaluate(_COLOURS)
        assert contrast(rgba(colours["color"]), rgba(colours["background"])) >= 4.5, colours


def test_a_whole_page_sent_back_with_an_error_puts_the_focus_on_the_field_to_fix(
    page, studio, owner
):
    log_in(page, owner.email)
    page.goto(reverse("gallery:settings_webhooks", args=[studio.slug]))
    url = page.get_by_label("Receiver URL")
    url.fill("http://127.0.0.1:9/hook")  # a loopback address: refused
    url.press("Enter")  # the form posts without htmx; the page comes back, status 422
    expect(url).to_have_attribute("aria-invalid", "true")
    expect(url).to_be_focused()
