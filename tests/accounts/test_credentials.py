from __future__ import annotations

import logging
import re

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse
from django.views.debug import ExceptionReporter
from django.views.decorators.debug import sensitive_variables

from accounts import credentials, crypto, services
from accounts.models import AuditEvent, ProviderCredential
from tests.factories import WorkspaceFactory

SECRET = "nf-secret-Very-Private-a1b2"
ENTER_IT_AGAIN = "Enter the secret again: it is only sent to the address it was saved for."


def provider_url(ws) -> str:
    return reverse("accounts:settings_provider", args=[ws.slug])


def neuroflash_form(**overrides: str) -> dict[str, str]:
    data = {
        "kind": "neuroflash",
        "client_id": "svc-7",
        "secret": SECRET,
        "remote_workspace_id": "ws-1",
    }
    data.update(overrides)
    return data


@pytest.fixture
def saved(owner_client, workspace) -> ProviderCredential:
    response = owner_client.post(provider_url(workspace), neuroflash_form())
    assert response.status_code == 302, response.content.decode()
    return ProviderCredential.objects.get(workspace=workspace)


def test_it_stores_the_secret_encrypted(saved):
    assert SECRET not in saved.secret_encrypted
    assert crypto.decrypt(saved.secret_encrypted) == SECRET
    assert saved.secret_hint == "a1b2"


def test_it_shows_only_a_masked_summary_after_saving(owner_client, workspace, saved):
    html = owner_client.get(provider_url(workspace)).content.decode()
    assert SECRET not in html
    assert saved.secret_encrypted not in html
    assert "ends in …a1b2" in html
    assert "by Alice" in html


def test_it_keeps_the_old_secret_when_the_field_is_left_blank(owner_client, workspace, saved):
    owner_client.post(
        provider_url(workspace), neuroflash_form(secret="", remote_workspace_id="ws-2")
    )
    saved.refresh_from_db()
    assert saved.remote_workspace_id == "ws-2"
    assert crypto.decrypt(saved.secret_encrypted) == SECRET


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("base_url", "https://collector.example.net"),
        ("auth_url", "https://collector.example.net"),
        ("client_id", "svc-other"),
    ],
)
def test_it_asks_for_the_secret_again_before_sending_it_anywhere_else(
    owner_client, workspace, saved, field, value
):
    response = owner_client.post(
        provider_url(workspace), neuroflash_form(secret="", **{field: value})
    )
    assert response.status_code == 422
    assert ENTER_IT_AGAIN in response.content.decode()
    saved.refresh_from_db()
    assert getattr(saved, field) != value
    assert crypto.decrypt(saved.secret_encrypted) == SECRET


def test_it_moves_to_a_new_address_once_the_secret_is_entered_again(owner_client, workspace, saved):
    response = owner_client.post(
        provider_url(workspace),
        neuroflash_form(base_url="https://eu.neuroflash.example", secret="nf-secret-again-c3d4"),
    )
    assert response.status_code == 302
    saved.refresh_from_db()
    assert saved.base_url == "https://eu.neuroflash.example"
    assert crypto.decrypt(saved.secret_encrypted) == "nf-secret-again-c3d4"


def test_it_never_lets_a_saved_secret_follow_a_new_address_in_the_service_either(
    owner, workspace, saved
):
    with pytest.raises(ValidationError) as raised:
        credentials.credential_save(
            workspace=workspace,
            actor=owner,
            fields=credentials.CredentialFields(
                kind="neuroflash",
                base_url="https://collector.example.net",
                client_id="svc-7",
                remote_workspace_id="ws-1",
            ),
            secret=None,
        )
    assert raised.value.message_dict == {"secret": [ENTER_IT_AGAIN]}
    saved.refresh_from_db()
    assert saved.base_url == ""


@pytest.mark.parametrize("field", ["base_url", "auth_url"])
def test_it_refuses_a_plain_http_address_for_a_real_provider(owner_client, workspace, field):
    response = owner_client.post(
        provider_url(workspace), neuroflash_form(**{field: "http://neuroflash.example.com"})
    )
    assert response.status_code == 422
    assert "Use an https:// address." in response.content.decode()
    assert ProviderCredential.objects.get(workspace=workspace).kind == "sandbox"


@pytest.mark.parametrize(
    ("kind", "url", "why"),
    [
        ("neuroflash", "https://169.254.169.254/latest", "a cloud metadata address"),
        ("nanogpt", "https://10.0.0.1", "a private address"),
        ("nanogpt", "https://[::1]:8443", "a loopback address"),
        ("neuroflash", "http://127.0.0.5:8765", "a loopback address"),
        ("nanogpt", "ftp://10.0.0.1/", "only http:// and https:// addresses"),
    ],
)
def test_it_refuses_provider_addresses_off_the_public_internet(
    owner_client, workspace, kind, url, why
):
    response = owner_client.post(provider_url(workspace), neuroflash_form(kind=kind, base_url=url))

    assert response.status_code == 422
    page = response.content.decode()
    assert why in page
    assert ProviderCredential.objects.get(workspace=workspace).kind == "sandbox"
    # The typed secret is not sent back; the page says to type it again.
    assert "type it again" in page


@pytest.mark.parametrize("url", ["http://localhost:8765", "http://127.0.0.1:9000"])
def test_it_allows_the_private_hosts_the_operator_named(owner_client, workspace, url):
    """Tests run with PROVIDER_PRIVATE_HOSTS=127.0.0.1,localhost (tests/environment.py)."""
    response = owner_client.post(provider_url(workspace), neuroflash_form(base_url=url))

    assert response.status_code == 302, response.content.decode()
    assert ProviderCredential.objects.get(workspace=workspace).base_url == url


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest", "http://127.0.0.1:6379"])
def test_only_staff_may_point_the_sandbox_at_another_address(owner_client, owner, workspace, url):
    before = ProviderCredential.objects.get(workspace=workspace).base_url
    form = {"kind": "sandbox", "base_url": url}
    response = owner_client.post(provider_url(workspace), form)
    assert response.status_code == 422
    assert "Only staff can point the sandbox somewhere else" in response.content.decode()
    assert ProviderCredential.objects.get(workspace=workspace).base_url == before

    owner.is_staff = True
    owner.save(update_fields=["is_staff"])
    response = owner_client.post(provider_url(workspace), form)
    saved = ProviderCredential.objects.get(workspace=workspace).base_url
    if "169.254" in url:  # staff still cannot reach what the operator did not allow
        assert response.status_code == 422
        assert "a cloud metadata address" in response.content.decode()
        assert saved == before
    else:
        assert response.status_code == 302
        assert saved == url


def test_it_shows_the_saved_credential_next_to_a_form_with_errors(owner_client, workspace, saved):
    response = owner_client.post(provider_url(workspace), {"kind": "nanogpt"})
    html = response.content.decode()
    assert response.status_code == 422
    assert "<dt>Provider</dt><dd>neuroflash</dd>" in html
    assert '<option value="nanogpt" selected>' in html  # the form keeps what was typed


def test_it_shows_errors_for_an_empty_post(owner_client, workspace):
    response = owner_client.post(provider_url(workspace), {})
    assert response.status_code == 422
    assert "This field is required." in response.content.decode()


def test_it_keeps_browsers_from_filling_in_the_secret(owner_client, workspace):
    html = owner_client.get(provider_url(workspace)).content.decode()
    assert re.search(r'<input type="password" name="secret"[^>]*autocomplete="new-password"', html)
    assert re.search(r'<input type="text" name="client_id"[^>]*autocomplete="off"', html)


def test_it_ties_the_secret_errors_to_the_secret_field(owner_client, workspace):
    html = owner_client.post(provider_url(workspace), {"kind": "nanogpt"}).content.decode()
    assert '<div id="id_secret_error"><p class="error">Enter the API key.</p></div>' in html
    assert re.search(
        r'name="secret"[^>]*aria-describedby="id_secret_helptext id_secret_error"', html
    )


def test_it_records_who_set_and_changed_the_credential(owner_client, owner, workspace, saved):
    owner_client.post(provider_url(workspace), neuroflash_form(secret="another-secret-9999"))
    verbs = list(
        AuditEvent.objects.filter(workspace=workspace, actor=owner).values_list("verb", flat=True)
    )
    assert verbs[:2] == ["credential.changed", "credential.set"]
    audit = owner_client.get(
        reverse("accounts:settings_audit", args=[workspace.slug])
    ).content.decode()
    assert "changed the provider credential" in audit
    assert "another-secret-9999" not in audit


def test_it_drops_a_secret_that_belongs_to_another_provider(owner_client, workspace, saved):
    owner_client.post(
        provider_url(workspace), {"kind": "sandbox", "base_url": "http://127.0.0.1:8765"}
    )
    saved.refresh_from_db()
    assert (saved.kind, saved.secret_encrypted) == ("sandbox", "")
    # Nor its neuroflash ids: back on the sandbox, the workspace gets a sandbox account of its own.
    assert saved.client_id.startswith("sandbox-studio-")
    assert saved.remote_workspace_id == saved.client_id


def test_saving_the_sandbox_settings_keeps_the_workspaces_sandbox_account(owner, settings):
    workspace = services.workspace_create(name="Posters", creator=owner)
    account = workspace.credential.remote_workspace_id
    client = Client()
    client.force_login(owner)

    response = client.post(provider_url(workspace), {"kind": "sandbox", "base_url": ""})

    assert response.status_code == 302, response.content.decode()
    workspace.credential.refresh_from_db()
    assert (workspace.credential.client_id, workspace.credential.remote_workspace_id) == (
        account,
        account,
    )
    assert not AuditEvent.objects.filter(verb="credential.changed").exists()  # nothing changed


def test_existing_sandbox_credentials_get_an_account_of_their_own(workspace):
    from importlib import import_module

    from django.apps import apps

    other = WorkspaceFactory(name="Other", slug="other")
    migration = import_module("accounts.migrations.0006_sandbox_account_per_workspace")

    migration._own_accounts(apps, None)

    first, second = ProviderCredential.objects.filter(workspace__in=[workspace, other])
    assert first.remote_workspace_id.startswith("sandbox-")
    assert first.client_id == first.remote_workspace_id
    assert second.remote_workspace_id not in ("", first.remote_workspace_id)


def test_it_asks_for_a_new_api_key_when_switching_to_nanogpt(owner_client, workspace, saved):
    response = owner_client.post(provider_url(workspace), {"kind": "nanogpt"})
    assert response.status_code == 422
    assert "Enter the API key." in response.content.decode()
    saved.refresh_from_db()
    assert saved.kind == "neuroflash"


def test_it_puts_errors_next_to_the_fields(owner_client, workspace):
    response = owner_client.post(
        provider_url(workspace), {"kind": "neuroflash", "base_url": "not a url"}
    )
    html = response.content.decode()
    assert response.status_code == 422
    assert "Enter the client ID of the neuroflash service account." in html
    assert "Enter the client secret." in html
    assert "Enter a valid URL." in html


def test_it_never_logs_the_secret(owner_client, workspace, caplog):
    with caplog.at_level(logging.DEBUG):
        owner_client.post(provider_url(workspace), neuroflash_form())
        owner_client.post(provider_url(workspace), neuroflash_form(base_url="bad url"))
    assert caplog.records, "expected some log output to inspect"
    assert SECRET not in caplog.text


def test_it_hides_the_secret_from_error_reports(owner, workspace, monkeypatch):
    @sensitive_variables("plaintext")  # as the real one is
    def broken_encrypt(plaintext: str) -> str:
        raise RuntimeError("the key store is unavailable")

    monkeypatch.setattr(crypto, "encrypt", broken_encrypt)
    client = Client(raise_request_exception=False)
    client.force_login(owner)
    response = client.post(provider_url(workspace), neuroflash_form())
    assert response.status_code == 500

    report = ExceptionReporter(response.wsgi_request, *response.exc_info).get_traceback_html()
    assert "the key store is unavailable" in report  # the report is about this failure
    assert SECRET not in report
    assert "********************" in report


def test_it_keeps_the_secret_out_of_the_django_admin(client_for, make_user, saved):
    staff = make_user(is_staff=True, is_superuser=True)
    client = client_for(staff)
    for url in (
        reverse("admin:accounts_providercredential_changelist"),
        reverse("admin:accounts_providercredential_change", args=[saved.pk]),
    ):
        html = client.get(url).content.decode()
        assert "ends in …a1b2" in html
        assert SECRET not in html
        assert saved.secret_encrypted not in html


def test_it_lets_no_one_change_a_credential_in_the_django_admin(client_for, make_user, saved):
    client = client_for(make_user(is_staff=True, is_superuser=True))
    url = reverse("admin:accounts_providercredential_change", args=[saved.pk])
    page = client.get(url).content.decode()
    assert "Change it in the workspace settings" in page
    assert reverse("accounts:settings_provider", args=[saved.workspace.slug]) in page

    response = client.post(
        url, {"kind": "neuroflash", "base_url": "https://collector.example.net", "client_id": "x"}
    )
    assert response.status_code == 403
    saved.refresh_from_db()
    assert saved.base_url == ""


def test_it_keeps_the_secret_out_of_reprs(saved):
    assert SECRET not in repr(saved)
    assert SECRET not in str(saved)


def test_it_rotates_keys_without_losing_a_secret(saved, settings):
    old_key = settings.CREDENTIAL_KEYS[0]
    new_key = Fernet.generate_key().decode()

    settings.CREDENTIAL_KEYS = [new_key, old_key]  # new first: old ciphertexts still decrypt
    assert crypto.decrypt(saved.secret_encrypted) == SECRET
    call_command("rotate_credential_keys", stdout=open("/dev/null", "w"))  # noqa: SIM115

    settings.CREDENTIAL_KEYS = [new_key]  # the old key can go now
    saved.refresh_from_db()
    assert crypto.decrypt(saved.secret_encrypted) == SECRET


def test_it_says_plainly_when_no_key_can_decrypt(saved, settings):
    settings.CREDENTIAL_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(crypto.SecretUnreadable, match="cannot be decrypted"):
        crypto.decrypt(saved.secret_encrypted)


def test_it_rotates_what_it_can_and_names_the_workspaces_it_cannot(saved, settings):
    lost = WorkspaceFactory(name="Lost Keys")
    lost.credential.secret_encrypted = Fernet(Fernet.generate_key()).encrypt(b"gone").decode()
    lost.credential.save()
    old_key = settings.CREDENTIAL_KEYS[0]
    new_key = Fernet.generate_key().decode()
    settings.CREDENTIAL_KEYS = [new_key, old_key]

    with pytest.raises(CommandError, match="Lost Keys"):
        call_command("rotate_credential_keys", stdout=open("/dev/null", "w"))  # noqa: SIM115

    settings.CREDENTIAL_KEYS = [new_key]
    saved.refresh_from_db()
    assert crypto.decrypt(saved.secret_encrypted) == SECRET


def test_the_audit_log_names_fields_as_the_page_does(owner_client, workspace, saved):
    owner_client.post(
        provider_url(workspace), neuroflash_form(remote_workspace_id="ws-2", secret="")
    )
    event = AuditEvent.objects.filter(verb="credential.changed").first()
    assert event.detail == "changed: neuroflash workspace ID"
