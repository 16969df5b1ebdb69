from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from accounts.models import AuditEvent, ProviderCredential, Role
from tests.factories import DEFAULT_PASSWORD, MembershipFactory, WorkspaceFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def log_in(page, email: str) -> None:
    page.goto("/account/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_an_admin_logs_in_switches_workspace_and_saves_a_credential(
    page, screenshot, owner, workspace
):
    second = WorkspaceFactory(name="Campaigns", slug="campaigns")
    MembershipFactory(workspace=second, user=owner, role=Role.ADMIN)

    page.goto("/")
    screenshot("login")
    log_in(page, owner.email)
    expect(page).to_have_url(re.compile(r"/w/(studio|campaigns)/$"))

    # Switch workspace from the header; the choice is remembered for the next visit to "/".
    page.locator("details.switcher summary").click()
    page.locator("details.switcher").get_by_role("link", name=re.compile(r"^Campaigns")).click()
    expect(page).to_have_url(re.compile(r"/w/campaigns/$"))
    expect(page.locator("h1")).to_have_text("Campaigns")
    screenshot("workspace-home")
    page.goto("/")
    expect(page).to_have_url(re.compile(r"/w/campaigns/$"))

    # Save a neuroflash credential: only its fields show, and the secret is never shown back.
    page.get_by_role("link", name="Settings", exact=True).click()
    page.get_by_role("link", name="Provider").click()
    page.get_by_role("combobox", name="Provider").select_option("neuroflash")
    expect(page.get_by_label("Client ID")).to_be_visible()
    page.get_by_label("Client ID").fill("svc-account-7")
    page.locator("#id_secret").fill("nf-secret-value-9f3a")
    page.get_by_label("neuroflash workspace ID").fill("ws-123")
    # An internal address is refused next to its field, saying why.
    page.get_by_label("Base URL").fill("https://169.254.169.254/latest")
    page.get_by_role("button", name="Save credential").click()
    error = page.locator("#id_base_url").locator("xpath=..")
    expect(error).to_contain_text("a cloud metadata address")
    expect(error).to_contain_text("PROVIDER_PRIVATE_HOSTS")
    expect(page.locator("#id_secret_error")).to_contain_text("type it again")
    screenshot("settings-provider-private-address")
    page.get_by_label("Base URL").fill("")
    page.locator("#id_secret").fill("nf-secret-value-9f3a")
    page.get_by_role("button", name="Save credential").click()

    expect(page.locator(".toast-success")).to_contain_text("Provider credential saved")
    expect(page.locator("#secret-status")).to_contain_text("ends in …9f3a")
    expect(page.locator("#secret-status")).to_contain_text("Alice")
    assert "nf-secret-value-9f3a" not in page.content()
    assert page.locator("#id_secret").input_value() == ""
    screenshot("settings-provider")

    credential = ProviderCredential.objects.get(workspace=second)
    assert credential.kind == "neuroflash"
    assert "nf-secret-value-9f3a" not in credential.secret_encrypted

    page.get_by_role("link", name="Audit log").click()
    expect(page.locator("table.audit")).to_contain_text("set the provider credential")
    expect(page.locator("table.audit")).to_contain_text("Alice")
    screenshot("settings-audit")
    assert AuditEvent.objects.filter(workspace=second, verb="credential.set").count() == 1


def test_an_admin_adds_a_member_and_changes_a_role_without_reloading(
    page, screenshot, owner, member, workspace
):
    log_in(page, owner.email)
    page.goto(f"/w/{workspace.slug}/settings/members/")

    page.get_by_label("Email").fill("newcomer@example.com")
    page.get_by_label("Name").fill("Nia Newcomer")
    page.get_by_role("button", name="Add member").click()
    expect(page.locator(".member-list")).to_contain_text("newcomer@example.com")
    callout = page.locator(".callout")
    expect(callout).to_contain_text("Send them this one-time link")
    link = page.get_by_label("One-time link for newcomer@example.com").input_value()
    assert "/account/set-password/" in link
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    callout.get_by_role("button", name="Copy").click()
    expect(callout.get_by_role("button", name="Copied")).to_be_visible()
    screenshot("settings-members-link")
    page.wait_for_load_state("networkidle")  # the swapped-in panel has settled

    page.get_by_label(f"Role of {member.email}").select_option("viewer")
    expect(page.locator(".toast", has_text=f"{member.email} is now viewer")).to_be_visible()
    screenshot("settings-members")
    assert member.memberships.get().role == "viewer"
