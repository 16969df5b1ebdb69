"""axe-core on every page of the app, as each role sees it, in the light and the dark theme, at
desktop (1280 px) and phone (390 px) width: no serious or critical violation anywhere.

One browser context per theme and width; each role logs in once in it. The pages' data is made
once per test through the app's own services (a real job run against the sandbox for the images).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import Membership
from accounts.services import set_password_path
from gallery.models import Image, ReviewState
from gallery.services.budget_requests import budget_request_create
from gallery.services.collections import collection_add, collection_create
from gallery.services.comparisons import comparison_submit
from gallery.services.jobs import JobRequest, job_submit
from gallery.services.review import comment_add
from tests.browser.axe import assert_no_serious_violations, axe_violations, describe
from tests.browser.test_foundation import log_in
from tests.factories import UserFactory
from tests.gallery.known_images import make_many
from tests.gallery.running import run_until_done
from tests.gallery.test_budgets import give

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


@dataclass
class Site:
    """The URLs of one workspace full of things to look at."""

    slug: str
    image: int
    comparison: int
    nobody_email: str
    set_password: str

    def w(self, name: str, *args: object) -> str:
        return reverse(name, args=[self.slug, *args])


@pytest.fixture
def site(settings, tmp_path, studio, owner, member, viewer) -> Site:
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.JOB_HEARTBEAT_SECONDS = 3600  # the jobs run in this test's thread
    owner.is_staff = True  # the operations page and workspace creation
    owner.save(update_fields=["is_staff"])
    memberships = {m.user_id: m for m in Membership.objects.filter(workspace=studio)}

    job = job_submit(
        workspace=studio,
        author=member,
        request=JobRequest("text2image", "a red lighthouse on a cliff at dusk", "nano-banana-2"),
        idempotency_key="a11y-job",
    )
    run_until_done(job)
    image = job.images.get()
    comparison = comparison_submit(
        workspace=studio,
        author=member,
        prompt="a fox in the snow",
        requests=[
            JobRequest("text2image", "a fox in the snow", model, {"n": 1})
            for model in ("nano-banana-2", "imagen-4")
        ],
        idempotency_key="a11y-comparison",
    )
    for compared in comparison.jobs.all():
        run_until_done(compared)

    others = make_many(studio, [owner, member], 6, thumbnail=True)
    Image.objects.filter(pk=others[0].pk).update(review_state=ReviewState.APPROVED)
    Image.objects.filter(pk=others[1].pk).update(review_state=ReviewState.REJECTED)
    board = collection_create(membership=memberships[owner.pk], name="Lighthouses")
    collection_add(collection=board, membership=memberships[owner.pk], images=[image, *others])
    comment_add(image=image, membership=memberships[owner.pk], body="Lovely light on the cliff.")

    give(studio, member, 20)
    budget_request_create(
        workspace=studio, user=member, amount=Decimal(5), unit="images", note="For the campaign"
    )
    nobody = UserFactory(email="nina@example.com", first_name="Nina")
    return Site(
        slug=studio.slug,
        image=image.pk,
        comparison=comparison.pk,
        nobody_email=nobody.email,
        set_password=set_password_path(nobody),
    )


def _anonymous_pages(site: Site) -> list[str]:
    return [
        reverse("login"),
        site.set_password,  # the one-time link's form
        "/account/set-password/MQ/not-a-token/",  # a used or broken link
        reverse("password_reset_complete"),
        "/no-such-page/",
    ]


def _admin_pages(site: Site) -> list[str]:
    return [
        site.w("gallery:home"),
        site.w("gallery:image_detail", site.image),
        site.w("gallery:generate"),
        site.w("gallery:compare"),
        site.w("gallery:comparison", site.comparison),
        site.w("gallery:review_queue"),
        site.w("gallery:collections"),
        site.w("gallery:usage"),
        site.w("gallery:settings_budgets"),
        site.w("gallery:notifications"),
        site.w("accounts:settings_members"),
        site.w("accounts:settings_provider"),
        site.w("accounts:settings_general"),
        site.w("accounts:settings_audit"),
        site.w("gallery:settings_webhooks"),
        site.w("gallery:workspace_delete"),  # the confirmation page
        site.w("tokens:list"),
        site.w("workspace_leave"),
        reverse("staff_users"),
        "/api/docs",
        reverse("ops"),
        reverse("workspace_create"),
        reverse("password_change"),
        reverse("password_change_done"),
        site.w("gallery:image_detail", 999_999),  # 404 inside a workspace
    ]


def _member_pages(site: Site) -> list[str]:
    return [
        site.w("gallery:home"),
        site.w("gallery:image_detail", site.image),
        site.w("gallery:generate"),
        site.w("gallery:review_queue"),
        site.w("gallery:budget_ask"),
        site.w("gallery:notifications"),
        site.w("gallery:usage"),
        site.w("tokens:list"),
        site.w("workspace_leave"),
    ]


def _viewer_pages(site: Site) -> list[str]:
    return [
        site.w("gallery:home"),
        site.w("gallery:image_detail", site.image),
        site.w("gallery:comparison", site.comparison),
        site.w("gallery:collections"),
        site.w("gallery:usage"),
        site.w("tokens:list"),
        site.w("gallery:generate"),  # 403: a viewer does not generate
        reverse("ops"),  # 403 for anyone but staff
    ]


def _check(page, url: str, failures: list[str]) -> None:
    page.goto(url)
    violations = axe_violations(page)
    if violations:
        failures.append(f"{url}\n{describe(violations)}")


def _log_in_as(page, email: str) -> None:
    page.context.clear_cookies()
    log_in(page, email)
    page.wait_for_url(lambda url: "/account/login/" not in url)


@pytest.mark.parametrize("theme", ["light", "dark"])
@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_every_page_passes_axe(
    browser, live_server, settings, site, owner, member, viewer, theme, size
):
    context = browser.new_context(
        base_url=live_server.url, viewport=SIZES[size], color_scheme=theme
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    failures: list[str] = []
    try:
        for url in _anonymous_pages(site):
            _check(page, url, failures)
        # The login form with its error showing.
        page.goto(reverse("login"))
        page.get_by_label("Email address").fill(owner.email)
        page.get_by_label("Password").fill("not the password")
        page.get_by_role("button", name="Log in").click()
        page.locator(".form-error, .error").first.wait_for()
        _check_here(page, "login with an error", failures)

        _log_in_as(page, owner.email)
        for url in _admin_pages(site):
            _check(page, url, failures)
        # The gallery's lightbox, a modal dialog over the grid.
        page.goto(site.w("gallery:home"))
        page.locator(".tile-link").first.click()
        page.locator("dialog.lightbox[open] h1").wait_for()
        _check_here(page, "the lightbox", failures)
        page.keyboard.press("Escape")
        # The header's menus, open.
        page.goto(site.w("gallery:home"))
        for menu in ("details.usermenu", "details.bell", "details.switcher"):
            page.locator(f"{menu} > summary").click()
            page.locator(f"{menu} .menu-panel").wait_for()
            _check_here(page, f"{menu} open", failures)
            page.keyboard.press("Escape")

        _log_in_as(page, member.email)
        for url in _member_pages(site):
            _check(page, url, failures)

        _log_in_as(page, viewer.email)
        for url in _viewer_pages(site):
            _check(page, url, failures)

        _log_in_as(page, site.nobody_email)
        _check(page, "/", failures)  # no workspace yet

        # Locked out after too many wrong passwords (a name nobody has: the cast stays free).
        page.context.clear_cookies()
        for _ in range(settings.AXES_FAILURE_LIMIT):
            page.goto(reverse("login"))
            page.get_by_label("Email address").fill("mallory@example.com")
            page.get_by_label("Password").fill("guess")
            page.get_by_role("button", name="Log in").click()
        page.locator("h1", has_text=re.compile("locked|Too many", re.I)).wait_for()
        _check_here(page, "the lockout page", failures)
    finally:
        context.close()
    assert not failures, f"{theme} theme, {size}:\n\n" + "\n\n".join(failures)


def _check_here(page, where: str, failures: list[str]) -> None:
    violations = axe_violations(page)
    if violations:
        failures.append(f"{where} ({page.url})\n{describe(violations)}")


def test_the_axe_check_fails_on_a_serious_violation(page, live_server):
    """The check can fail: a page with a nameless button and an image without alt."""
    page.goto(reverse("login"))
    page.evaluate(
        "document.querySelector('main').insertAdjacentHTML('beforeend',"
        " '<button></button><img src=\"/static/img/logo.svg\">')"
    )
    with pytest.raises(AssertionError) as failure:
        assert_no_serious_violations(page, "login with broken markup")
    assert "button-name (critical)" in str(failure.value)
    assert "image-alt (critical)" in str(failure.value)
