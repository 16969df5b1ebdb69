"""Demo accounts: with the demo secret, a client id `sandbox-NAME` is an account of its own, with
one workspace of the same id, so two users of one sandbox never see each other's images."""

from __future__ import annotations

import requests

from tests.sandbox.conftest import DS, TIMEOUT
from tests.sandbox_fixture import SandboxHandle

WORKSPACES = "/api/workspace-service/v1/workspaces"


def _token(sandbox: SandboxHandle, http: requests.Session, client_id: str) -> requests.Response:
    form = {
        "grant_type": "client_credentials",
        "client_id": client_id,
        "client_secret": sandbox.client_secret,
        "scope": "openid",
    }
    return http.post(sandbox.token_url, data=form, timeout=TIMEOUT)


def _headers(sandbox: SandboxHandle, http: requests.Session, account: str) -> dict[str, str]:
    response = _token(sandbox, http, account)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}", "x-workspace-id": account}


def test_a_demo_account_lists_only_its_own_workspace(sandbox, http):
    headers = _headers(sandbox, http, "sandbox-acme")

    listed = http.get(f"{sandbox.url}{WORKSPACES}", headers=headers, timeout=TIMEOUT).json()

    assert [w["id"] for w in listed["_embedded"]["workspaces"]] == ["sandbox-acme"]


def test_demo_accounts_never_see_each_others_history(sandbox, http):
    acme = _headers(sandbox, http, "sandbox-acme")
    globex = _headers(sandbox, http, "sandbox-globex")
    made = http.post(
        f"{sandbox.url}{DS}/", json={"prompt": "acme's secret plan"}, headers=acme, timeout=TIMEOUT
    )
    assert made.status_code == 200, made.text
    image_id = made.json()["images"][0]["image_id"]

    theirs = http.get(f"{sandbox.url}{DS}/history", headers=globex, timeout=TIMEOUT).json()
    peek = http.get(f"{sandbox.url}{DS}/history/{image_id}", headers=globex, timeout=TIMEOUT)
    mine = http.get(f"{sandbox.url}{DS}/history", headers=acme, timeout=TIMEOUT).json()

    assert theirs == []
    assert peek.status_code == 404
    assert [entry["prompt"] for entry in mine] == ["acme's secret plan"]


def test_a_demo_account_cannot_name_another_workspace(sandbox, http):
    acme = _headers(sandbox, http, "sandbox-acme")

    for other in ("sandbox-globex", sandbox.workspace_id):
        response = http.get(
            f"{sandbox.url}{DS}/history",
            headers={**acme, "x-workspace-id": other},
            timeout=TIMEOUT,
        )
        assert response.status_code == 403, other


def test_the_configured_client_cannot_reach_a_demo_account(sandbox, nf):
    response = nf.get(f"{DS}/history", headers={"x-workspace-id": "sandbox-acme"})

    assert response.status_code == 403


def test_each_demo_account_has_its_own_quota(sandbox, http):
    sandbox.set_quota(workspace_id="sandbox-acme", limit_monthly=5, used_monthly=5)
    globex = _headers(sandbox, http, "sandbox-globex")

    made = http.post(f"{sandbox.url}{DS}/", json={"prompt": "x"}, headers=globex, timeout=TIMEOUT)

    assert made.status_code == 200, made.text
    assert sandbox.quota()["quota"]["usedAmount"] == 0  # nor the configured workspace's


def test_a_demo_account_still_needs_the_secret(sandbox, http):
    response = http.post(
        sandbox.token_url,
        data={
            "grant_type": "client_credentials",
            "client_id": "sandbox-acme",
            "client_secret": "guess",
            "scope": "openid",
        },
        timeout=TIMEOUT,
    )

    assert response.status_code == 401


def test_only_ids_with_the_prefix_are_demo_accounts(sandbox, http):
    for client_id in ("acme", "sandbox-", "sandbox-a/b", sandbox.workspace_id):
        assert _token(sandbox, http, client_id).status_code == 401, client_id
