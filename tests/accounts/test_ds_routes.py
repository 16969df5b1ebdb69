"""Where the ds-prototypes routes are: Test connection finds them, says so and remembers them; an
admin can set them by hand in the provider settings (spec §1.6.0: the docs disagree)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts import crypto
from accounts.credentials import CredentialFields, credential_save
from accounts.models import ConnectionCheck, ProviderCredential
from tests.accounts.test_connection_check import check_card, press_test_connection, run_check
from tests.providers.conftest import TOKEN_PATH, TokenIssuer
from tests.providers.scripted_server import Reply, ScriptedServer

IG = "/api/ds-prototypes/image_generation"
BARE = "/api/ds-prototypes"


@pytest.fixture
def credential(workspace, sandbox) -> ProviderCredential:
    credential = workspace.credential
    credential.base_url = sandbox.url
    credential.save()
    return credential


@pytest.mark.parametrize(
    ("layout", "generation", "history"),
    [("reference", BARE, BARE), ("guide", IG, BARE), ("overview", IG, IG)],
)
def test_it_finds_the_routes_says_where_and_remembers_them(
    owner_client, workspace, credential, sandbox, layout, generation, history
):
    sandbox.configure(ds_layout=layout)
    check = press_test_connection(owner_client, workspace)
    run_check_from(check)

    html = check_card(owner_client, workspace, check)
    assert "Connected" in html
    assert (
        f'generation API at <code class="nowrap">{generation}</code>, '
        f'history at <code class="nowrap">{history}</code>'
    ) in html
    credential.refresh_from_db()
    assert (credential.discovered_generation_path, credential.discovered_history_path) == (
        generation,
        history,
    )
    assert (credential.generation_path, credential.history_path) == ("", "")  # nothing typed


def run_check_from(check: ConnectionCheck) -> None:
    from accounts.connection import connection_check_run

    connection_check_run(check_id=check.pk)
    check.refresh_from_db()
    assert check.state == "ok", check.error


def test_a_path_typed_by_an_admin_is_checked_and_never_replaced(credential, sandbox):
    sandbox.configure(ds_layout="reference")
    credential.generation_path = BARE
    credential.save()

    check = run_check(credential)

    assert check.state == "ok", check.error
    credential.refresh_from_db()
    assert credential.generation_path == BARE
    assert credential.discovered_history_path == BARE
    assert sandbox.calls("GET ds.models") == 1  # probed only where it was typed


def test_it_fails_when_a_typed_path_answers_nothing(credential, sandbox):
    credential.history_path = "/api/nowhere"
    credential.save()

    check = run_check(credential)

    assert check.state == "failed"
    assert check.error.startswith(
        f"No ds-prototypes history route answered at {sandbox.url} (tried /api/nowhere/history)"
    )
    credential.refresh_from_db()
    assert credential.last_error == check.error
    assert credential.last_success_at is None


@pytest.fixture
def pathless_server(db):
    """Answers the token, workspace, quota and catalog routes but no ds-prototypes route."""
    server = ScriptedServer().start()
    server.on("POST", TOKEN_PATH, TokenIssuer())
    server.on(
        "GET",
        "/api/workspace-service/v1/workspaces",
        Reply(json={"_embedded": {"workspaces": [{"id": "sandbox-workspace"}]}}),
    )
    yield server
    server.stop()


def test_it_fails_in_plain_words_when_no_ds_route_answers(workspace, pathless_server):
    credential = workspace.credential
    credential.base_url = pathless_server.url
    credential.save()

    check = run_check(credential)

    assert check.state == "failed"
    assert "No ds-prototypes generation route answered at" in check.error
    assert f"(tried {IG}/models, {BARE}/models)" in check.error
    assert "no ds-prototypes history route answered" in check.error
    assert "set the route paths by hand in the provider settings" in check.error


def test_changing_the_server_forgets_the_routes_found_on_the_old_one(
    workspace, owner, credential, sandbox
):
    sandbox.configure(ds_layout="reference")
    assert run_check(credential).state == "ok"
    credential_save(
        workspace=workspace,
        actor=owner,
        fields=CredentialFields(kind="sandbox", base_url=f"{sandbox.url}/"),
        secret=None,
    )
    credential.refresh_from_db()
    assert (credential.discovered_generation_path, credential.discovered_history_path) == ("", "")


# -- the provider form --------------------------------------------------------------------------


def post_form(client, workspace, **fields):
    data = {
        "kind": "neuroflash",
        "client_id": "sandbox-client",
        "secret": "sandbox-secret",
        "remote_workspace_id": "sandbox-workspace",
        "base_url": "https://app.example.com",
        "auth_url": "",
        "generation_path": "",
        "history_path": "",
        **fields,
    }
    return client.post(reverse("accounts:settings_provider", args=[workspace.slug]), data)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("https://evil.example.com/api", "no https:// and no host name"),
        ("//evil.example.com/api", "no https:// and no host name"),
        ("api/ds-prototypes", "starts with a single /"),
        ("/api/../admin", "cannot contain . or .. segments"),
        ("/api/ds-prototypes?x=1", "no spaces, ? or #"),
        ("/api/ds prototypes", "no spaces, ? or #"),
    ],
)
def test_the_form_refuses_a_route_path_that_is_not_a_plain_path(
    owner_client, workspace, value, message
):
    response = post_form(owner_client, workspace, history_path=value)

    assert response.status_code == 422
    html = response.content.decode()
    # The error sits in the history field's own block, tied to the input for screen readers.
    field = html.split('<label for="id_history_path">', 1)[1].split("</details>", 1)[0]
    assert 'id="id_history_path_error"' in field
    assert message in field.replace("&#x27;", "'")
    assert ProviderCredential.objects.get(workspace=workspace).history_path == ""


def test_the_form_keeps_a_valid_path_without_its_trailing_slash(owner_client, workspace):
    response = post_form(owner_client, workspace, generation_path="/api/ds-prototypes/")

    assert response.status_code == 302
    credential = ProviderCredential.objects.get(workspace=workspace)
    assert (credential.generation_path, credential.history_path) == (BARE, "")
    assert crypto.decrypt(credential.secret_encrypted) == "sandbox-secret"


def test_the_form_drops_route_paths_for_nanogpt(owner_client, workspace):
    response = post_form(
        owner_client, workspace, kind="nanogpt", secret="ng-key-1234", history_path=BARE
    )
    assert response.status_code == 302
    assert ProviderCredential.objects.get(workspace=workspace).history_path == ""


def test_the_settings_page_shows_what_was_found_under_the_advanced_fields(
    owner_client, workspace, credential
):
    credential.discovered_generation_path = IG
    credential.discovered_history_path = BARE
    credential.save()

    html = owner_client.get(
        reverse("accounts:settings_provider", args=[workspace.slug])
    ).content.decode()

    assert "<summary>Advanced: where the image routes are</summary>" in html
    assert "Leave these blank" in html
    assert f"Found by Test connection: <code>{IG}</code>" in html
    assert f"Found by Test connection: <code>{BARE}</code>" in html
