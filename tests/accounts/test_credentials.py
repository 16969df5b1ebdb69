from __future__ import annotations

import logging
import sys

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command
from django.test import RequestFactory
from django.urls import reverse
from django.views.debug import ExceptionReporter

from accounts import crypto
from accounts.models import AuditEvent, ProviderCredential
from accounts.views import settings_provider

SECRET = "nf-secret-Very-Private-a1b2"


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
    owner_client.post(provider_url(workspace), neuroflash_form(secret="", client_id="svc-8"))
    saved.refresh_from_db()
    assert saved.client_id == "svc-8"
    assert crypto.decrypt(saved.secret_encrypted) == SECRET


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
    assert (saved.kind, saved.secret_encrypted, saved.client_id) == ("sandbox", "", "")


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


def test_it_hides_the_secret_from_error_reports(owner, workspace, rf: RequestFactory):
    request = rf.post(provider_url(workspace), neuroflash_form())
    request.user = owner
    try:
        settings_provider(request, slug="no-such-workspace")
    except Exception:  # any error page must be clean
        report = ExceptionReporter(request, *sys.exc_info()).get_traceback_html()
    else:
        pytest.fail("expected the view to raise")
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
