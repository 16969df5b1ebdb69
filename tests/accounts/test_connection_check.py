"""Test connection: the check runs in a worker and says in plain words what works and what not.

These run the check's service directly against the live sandbox over HTTP; the real Celery
worker path is covered in tests/integration.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from accounts import connection, crypto
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


def press_test_connection(client, workspace) -> ConnectionCheck:
    """The admin presses the button; the check waits for a worker (tests run it themselves)."""
    client.post(reverse("accounts:connection_test", args=[workspace.slug]), HTTP_HX_REQUEST="true")
    return ConnectionCheck.objects.filter(credential__workspace=workspace).first()


def check_card(client, workspace, check: ConnectionCheck) -> str:
    """What the polling card shows now."""
    url = reverse("accounts:connection_check", args=[workspace.slug, check.pk])
    return client.get(url, HTTP_HX_REQUEST="true").content.decode()


@pytest.mark.parametrize(
    ("fault", "sentence"),
    [
        pytest.param(
            {"route": "nf.token", "status": 429, "retry_after": 30},
            "Sandbox is limiting the request rate (429); retry in 30 s",
            id="429-with-retry-after",
        ),
        pytest.param(
            {"route": "nf.quotas", "status": 500},
            "Sandbox had a server error while reading the quota (500); try again later",
            id="500",
        ),
        pytest.param(
            {"route": "nf.workspaces", "hang": True, "seconds": 10},
            "Sandbox did not answer within 0.5 s while listing workspaces",
            id="hang",
        ),
        pytest.param(
            {"route": "nf.image_models", "malformed_json": True},
            "Sandbox sent a response that is not valid JSON while listing the image model catalog",
            id="malformed-json",
        ),
    ],
)
def test_it_tells_the_admin_in_plain_words_what_went_wrong(
    owner_client, workspace, credential, sandbox, settings, fault, sentence
):
    settings.PROVIDER_READ_TIMEOUT = 0.5
    sandbox.faults(**fault)
    check = press_test_connection(owner_client, workspace)
    connection_check_run(check_id=check.pk)

    card = check_card(owner_client, workspace, check)
    assert "Failed" in card
    assert sentence in card
    assert "hx-trigger" not in card  # done: polling stops
    page = owner_client.get(reverse("accounts:settings_provider", args=[workspace.slug]))
    assert f'<dt>Last error</dt><dd><span class="error-text">{sentence}' in page.content.decode()


def test_it_shows_an_exhausted_quota(owner_client, workspace, credential, sandbox):
    sandbox.set_quota(limit_monthly=100, used_monthly=100, bonus=0, spillover=0)
    check = press_test_connection(owner_client, workspace)
    connection_check_run(check_id=check.pk)
    assert "<li>Images it can make right now: 0</li>" in check_card(owner_client, workspace, check)


def test_a_nanogpt_check_shows_the_balance_left(owner_client, workspace, credential, sandbox):
    credential.kind = "nanogpt"
    credential.secret_encrypted = crypto.encrypt(sandbox.api_key)
    credential.save()
    check = press_test_connection(owner_client, workspace)
    connection_check_run(check_id=check.pk)
    card = check_card(owner_client, workspace, check)
    assert "<li>Balance left: " in card
    assert "Images it can make" not in card


def test_it_ends_a_check_that_crashes_with_a_plain_message(
    owner_client, workspace, credential, monkeypatch, caplog
):
    def broken(credential):
        raise KeyError("internal detail")

    monkeypatch.setattr(connection, "provider_for", broken)
    check = press_test_connection(owner_client, workspace)
    with caplog.at_level(logging.ERROR, logger="accounts.connection"):
        connection_check_run(check_id=check.pk)

    card = check_card(owner_client, workspace, check)
    assert "The check stopped on an unexpected error." in card
    assert "internal detail" not in card
    assert "hx-trigger" not in card
    assert "internal detail" in caplog.text  # the traceback is in the worker's log


def test_it_stops_polling_a_check_no_worker_picked_up(owner_client, workspace, credential):
    check = press_test_connection(owner_client, workspace)
    assert 'hx-trigger="every 1s"' in check_card(owner_client, workspace, check)

    long_ago = timezone.now() - ConnectionCheck.deadline() - timedelta(seconds=1)
    ConnectionCheck.objects.filter(pk=check.pk).update(created_at=long_ago)
    card = check_card(owner_client, workspace, check)
    assert "No worker picked this up — is the worker running?" in card
    assert "hx-trigger" not in card


def test_it_does_not_pin_a_result_on_a_credential_saved_while_the_check_ran(
    owner_client, workspace, credential, sandbox, monkeypatch, settings
):
    settings.SANDBOX_URL = sandbox.url  # this server's own sandbox: any admin may choose it
    real_provider_for = connection.provider_for

    def admin_saves_meanwhile(credential):
        provider = real_provider_for(credential)
        owner_client.post(
            reverse("accounts:settings_provider", args=[workspace.slug]),
            {"kind": "sandbox", "base_url": f"{sandbox.url}/"},
        )
        return provider

    monkeypatch.setattr(connection, "provider_for", admin_saves_meanwhile)
    check = press_test_connection(owner_client, workspace)
    connection_check_run(check_id=check.pk)

    check.refresh_from_db()
    assert check.state == "ok"
    credential.refresh_from_db()
    assert credential.base_url == f"{sandbox.url}/"
    assert credential.last_success_at is None  # nobody has tested this version yet


def test_it_refreshes_the_last_success_with_the_card(owner_client, workspace, credential):
    check = press_test_connection(owner_client, workspace)
    card = check_card(owner_client, workspace, check)
    assert "<dt>Last successful test</dt><dd>never</dd>" in card
    connection_check_run(check_id=check.pk)
    card = check_card(owner_client, workspace, check)
    assert "<dt>Last successful test</dt><dd><time" in card


def test_a_successful_check_clears_the_last_error(credential, sandbox):
    sandbox.faults(route="nf.token", status=500, count=1)
    assert run_check(credential).state == "failed"
    credential.refresh_from_db()
    assert credential.last_error
    check = run_check(credential)
    assert check.state == "ok", check.error
    credential.refresh_from_db()
    assert (credential.last_error, credential.last_error_at) == ("", None)
    assert credential.last_success_at is not None
