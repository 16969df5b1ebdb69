"""When the provider secret must be typed (again): one rule, alike on the page and in the service.

The saved secret is only ever sent where it was saved for; a save that would send it anywhere
else, or that leaves a provider without one, needs it typed in.
"""

from __future__ import annotations

import html

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts import credentials, crypto
from accounts.models import ProviderCredential

SECRET = "nf-secret-Very-Private-a1b2"
ENTER_IT_AGAIN = "Enter the secret again: it is only sent to the address it was saved for."
SAVED = {
    "kind": "neuroflash",
    "client_id": "svc-7",
    "remote_workspace_id": "ws-1",
    "base_url": "",
    "auth_url": "",
}

# what is saved before → what is then saved with the secret field left blank → what is said
CASES = {
    "nothing changed": (True, {}, None),
    "another neuroflash workspace id": (True, {"remote_workspace_id": "ws-2"}, None),
    "another base URL": (True, {"base_url": "https://collector.example.net"}, ENTER_IT_AGAIN),
    "another token URL": (True, {"auth_url": "https://collector.example.net"}, ENTER_IT_AGAIN),
    "another client ID": (True, {"client_id": "svc-other"}, ENTER_IT_AGAIN),
    "switched to NanoGPT": (
        True,
        {"kind": "nanogpt", "client_id": "", "remote_workspace_id": ""},
        "Enter the API key.",
    ),
    "switched to the sandbox": (True, {"kind": "sandbox", "client_id": ""}, None),
    "neuroflash, never given a secret": (False, {}, "Enter the client secret."),
}


@pytest.fixture
def owner_credential(owner, workspace):
    def make(with_secret: bool) -> ProviderCredential:
        ProviderCredential.objects.filter(workspace=workspace).update(
            **SAVED, secret_encrypted=crypto.encrypt(SECRET) if with_secret else ""
        )
        return ProviderCredential.objects.get(workspace=workspace)

    return make


def _via_page(client, workspace, fields) -> str | None:
    response = client.post(
        reverse("accounts:settings_provider", args=[workspace.slug]), {**fields, "secret": ""}
    )
    if response.status_code == 302:
        return None
    page = html.unescape(response.content.decode())
    start = page.index('<div id="id_secret_error">')
    error = page[start : page.index("</div>", start)]
    return error.split('<p class="error">')[1].split("</p>")[0]


def _via_service(owner, workspace, fields) -> str | None:
    try:
        credentials.credential_save(
            workspace=workspace,
            actor=owner,
            fields=credentials.CredentialFields(**fields),
            secret=None,
        )
    except ValidationError as exc:
        return exc.message_dict["secret"][0]
    return None


@pytest.mark.parametrize("via", ["page", "service"])
@pytest.mark.parametrize("case", CASES)
def test_the_page_and_the_service_ask_for_the_secret_alike(
    owner_client, owner, workspace, owner_credential, case, via
):
    with_secret, change, expected = CASES[case]
    owner_credential(with_secret)
    fields = {**SAVED, **change}
    if via == "page":
        said = _via_page(owner_client, workspace, fields)
    else:
        said = _via_service(owner, workspace, fields)
    assert said == expected
    saved = ProviderCredential.objects.get(workspace=workspace)
    if expected:  # refused: nothing changed
        assert {name: getattr(saved, name) for name in SAVED} == SAVED
    else:
        assert saved.kind == fields["kind"]
