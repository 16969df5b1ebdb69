"""Settings · Workspace in a real browser: move, export, delete; leaving; staff · Users."""

from __future__ import annotations

import zipfile

import pytest
from playwright.sync_api import expect

from accounts.models import Role, Workspace
from tests.browser.test_foundation import log_in
from tests.factories import MembershipFactory
from tests.gallery.pictures import picture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1280, 390])
def test_an_admin_moves_exports_and_deletes_a_workspace(
    page, screenshot, owner, member, workspace, width, tmp_path
):
    page.set_viewport_size({"width": width, "height": 900})
    picture(workspace, author=member, prompt="a lighthouse at dusk")
    log_in(page, owner.email)
    page.goto("/w/studio/settings/general/")
    page.get_by_label("Address").fill("studio taken")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#id_slug_error")).to_contain_text("lower-case letters, digits")
    screenshot(f"settings-workspace-error-{width}")
    page.get_by_label("Address").fill("north")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Old addresses that still lead members here")).to_be_visible()
    expect(page.locator(".toast")).to_contain_text("links to /w/studio/ still lead its members")
    screenshot(f"settings-workspace-{width}")

    page.goto("/w/studio/")  # an old link
    expect(page).to_have_url(f"{page.url.split('/w/')[0]}/w/north/")

    page.goto("/w/north/settings/general/")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download the export").click()
    path = tmp_path / "export.zip"
    download.value.save_as(path)
    with zipfile.ZipFile(path) as archive:
        assert {"images.json", "images.csv"} <= set(archive.namelist())

    page.get_by_role("link", name="Delete workspace…").click()
    page.get_by_label("Workspace name").fill("studio")
    page.get_by_role("button", name="Delete this workspace").click()
    expect(page.locator("#id_name_error")).to_contain_text("Type “Studio” exactly as shown")
    screenshot(f"workspace-delete-{width}")
    page.get_by_label("Workspace name").fill("Studio")
    page.get_by_role("button", name="Delete this workspace").click()
    expect(page.get_by_text("Workspace “Studio” and its 1 image are deleted.")).to_be_visible()
    assert not Workspace.objects.filter(name="Studio").exists()


@pytest.mark.parametrize("width", [1280, 390])
def test_a_member_leaves_from_the_switcher(page, screenshot, member, owner, workspace, width):
    page.set_viewport_size({"width": width, "height": 800})
    log_in(page, member.email)
    page.goto("/w/studio/")
    page.locator(".switcher summary").click()
    screenshot(f"switcher-leave-{width}")
    page.get_by_role("link", name="Leave Studio…").click()
    screenshot(f"workspace-leave-{width}")
    page.get_by_role("button", name="Leave Studio").click()
    expect(page.get_by_text("You left Studio.")).to_be_visible()


@pytest.mark.parametrize("width", [1280, 390])
def test_staff_deactivate_an_account(page, screenshot, make_user, workspace, member, width):
    staff = make_user(email="sam@example.com", is_staff=True, first_name="Sam", last_name="Staff")
    MembershipFactory(workspace=workspace, user=staff, role=Role.ADMIN)
    page.set_viewport_size({"width": width, "height": 900})
    log_in(page, staff.email)
    page.goto("/staff/users/")
    page.get_by_role("button", name=f"Deactivate {member.email}").click()
    expect(page.get_by_text(f"{member.email} is deactivated")).to_be_visible()
    expect(page.locator(f"#user-{member.pk}")).to_contain_text("deactivated")
    screenshot(f"staff-users-{width}")
