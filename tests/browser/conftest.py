"""Real-browser tests: Playwright driving Debian's Chromium, headless.

Where no Chromium is installed these tests skip with a loud message, except under CI=true, where
a missing browser is a failure: CI must never pass by not running them.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError

from tests.gallery.webhook_receiver import receiver as receiver  # a fixture

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = Path(
    os.environ.get("SCREENSHOT_DIR", Path(__file__).resolve().parents[2] / "var" / "screenshots")
)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        message = (
            f"Chromium not found at {CHROMIUM}: install Debian's chromium or set CHROMIUM_PATH"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        print(f"\n\n*** BROWSER TESTS SKIPPED: {message} ***\n")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread for the whole session;
    # the ORM calls of tests are still synchronous, so Django's async guard must stand down.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
            yield browser
            browser.close()
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def page(browser, live_server) -> Iterator[object]:
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 800})
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if _is_error(msg) else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    # A CSP violation or a script error shows up here: the app must run clean.
    assert not errors, f"browser console errors: {errors}"


# Chromium logs every non-2xx answer as a console error; a form with errors answers 422 on
# purpose (so HTMX and tests can tell), which is not a fault of the page.
_FORM_ERRORS = "the server responded with a status of 422"


def _is_error(message: object) -> bool:
    return message.type == "error" and _FORM_ERRORS not in message.text  # type: ignore[attr-defined]


@pytest.fixture
def screenshot(page):
    """Save a full-page PNG under var/screenshots/ for a person to look at."""

    def take(name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        for attempt in range(3):
            try:
                page.screenshot(path=str(path), full_page=True)
                return path
            except PlaywrightError as exc:
                # Chromium now and then refuses a capture while a busy machine's renderer is
                # still compositing ("Unable to capture screenshot"); a moment later it works.
                if "Unable to capture screenshot" not in str(exc) or attempt == 2:
                    raise
                page.wait_for_timeout(500)
        return path

    return take
