"""Test connection: the check runs in a worker and says in plain words what works and what not.

These run the check's service directly against the live sandbox over HTTP; the real Celery
worker path is covered in tests/integration.
"""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.urls import reverse

from accounts import crypto
from accounts.connection import connection_check_run
from accounts.models import ConnectionCheck, ProviderCredential, Workspace


@pytest.fixture
def credential(workspace, sandbox) -> ProviderCredential:
    credential = workspace.credential
    credential.base_url = sandbox.url
    credential.save()
    return credential


def run_check(credential: ProviderCredential) -> ConnectionCheck:
    check = ConnectionCheck.objects.create(credential=credential)
    connection_check_run(check_id=check.pk)
    check.refresh_from_db()
    return check


def test_it_reports_token_workspace_quota_and_models_for_the_sandbox(credential):
    check = run_check(credential)
    assert check.state == "ok", check.error
    assert (check.token_ok, check.workspace_found) == (True, True)
    assert int(check.quota_left) > 0
    assert check.model_count > 0
    assert check.round_trip_ms > 0
    credential.refresh_from_db()
    assert credential.last_success_at is not None


def test_it_says_plainly_that_the_secret_was_rejected(credential):
    credential.kind = "neuroflash"
    credential.auth_url = credential.base_url
    credential.client_id = "sandbox-client"
    credential.remote_workspace_id = "sandbox-workspace"
    credential.secret_encrypted = crypto.encrypt("not-the-secret")
    credential.save()
    check = run_check(credential)
    assert check.state == "failed"
    assert "rejected the client ID or secret (401)" in check.error
    assert "not-the-secret" not in check.error
    credential.refresh_from_db()
    assert credential.last_error == check.error


def test_it_names_the_workspaces_it_can_see_when_the_workspace_is_wrong(credential):
    credential.remote_workspace_id = "ws-typo"
    credential.save()
    check = run_check(credential)
    assert check.state == "failed"
    assert "“ws-typo” is not among the workspaces they can see" in check.error
    assert "sandbox-workspace" in check.error


def test_it_explains_a_provider_that_is_down(credential, sandbox):
    sandbox.faults(status=503, count=10)
    check = run_check(credential)
    assert check.state == "failed"
    assert "503" in check.error


def test_it_explains_a_provider_that_cannot_be_reached(credential):
    credential.base_url = "http://127.0.0.1:9"  # nothing listens on the discard port
    credential.save()
    check = run_check(credential)
    assert check.state == "failed"
    assert check.error


def test_it_runs_a_check_only_once(credential, sandbox):
    check = run_check(credential)
    calls = sandbox.counters()
    connection_check_run(check_id=check.pk)  # a redelivered task
    assert sandbox.counters() == calls


def test_the_button_queues_a_check_and_the_card_polls_until_done(
    owner_client, workspace, credential
):
    response = owner_client.post(
        reverse("accounts:connection_test", args=[workspace.slug]), HTTP_HX_REQUEST="true"
    )
    check = ConnectionCheck.objects.get(credential=credential)
    html = response.content.decode()
    assert 'hx-trigger="every 1s"' in html
    assert reverse("accounts:connection_check", args=[workspace.slug, check.pk]) in html

    connection_check_run(check_id=check.pk)
    status_url = reverse("accounts:connection_check", args=[workspace.slug, check.pk])
    html = owner_client.get(status_url, HTTP_HX_REQUEST="true").content.decode()
    assert "Connected" in html
    assert "hx-trigger" not in html  # done: polling stops


def test_the_button_works_without_javascript(owner_client, workspace, credential):
    response = owner_client.post(reverse("accounts:connection_test", args=[workspace.slug]))
    assert response["Location"] == reverse("accounts:settings_provider", args=[workspace.slug])
    html = owner_client.get(response["Location"]).content.decode()
    assert "Checking the connection" in html


def test_the_sandbox_workspace_of_a_fresh_install_connects_out_of_the_box(db, sandbox, settings):
    settings.SANDBOX_URL = sandbox.url  # where `make run` starts the sandbox
    call_command("bootstrap", stdout=open("/dev/null", "w"))  # noqa: SIM115
    check = run_check(Workspace.objects.get(slug="sandbox").credential)
    assert check.state == "ok", check.error
