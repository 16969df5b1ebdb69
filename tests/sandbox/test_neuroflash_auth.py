from __future__ import annotations

import time

import pytest
import requests

from tests.sandbox.conftest import TIMEOUT, Neuroflash
from tests.sandbox_fixture import SandboxHandle


def _token(sandbox: SandboxHandle, http: requests.Session, **overrides: str) -> requests.Response:
    form = {
        "grant_type": "client_credentials",
        "client_id": sandbox.client_id,
        "client_secret": sandbox.client_secret,
        "scope": "openid",
        **overrides,
    }
    return http.post(sandbox.token_url, data=form, timeout=TIMEOUT)


def test_it_issues_a_bearer_token_for_the_demo_client(sandbox, http):
    response = _token(sandbox, http)

    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 300  # the fixture's short TTL
    assert body["access_token"]
    assert response.headers["Cache-Control"] == "no-store"


def test_it_rejects_a_wrong_secret_as_invalid_client(sandbox, http):
    response = _token(sandbox, http, client_secret="nope")

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert "error_description" in response.json()


def test_it_rejects_an_unknown_client(sandbox, http):
    response = _token(sandbox, http, client_id="someone-else")

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_it_accepts_client_credentials_over_http_basic(sandbox, http):
    response = http.post(
        sandbox.token_url,
        data={"grant_type": "client_credentials", "scope": "openid"},
        auth=(sandbox.client_id, sandbox.client_secret),
        timeout=TIMEOUT,
    )

    assert response.status_code == 200


def test_it_refuses_other_grant_types(sandbox, http):
    response = _token(sandbox, http, grant_type="password")

    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_it_requires_the_openid_scope(sandbox, http):
    response = _token(sandbox, http, scope="profile")

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


def test_it_requires_a_form_body(sandbox, http):
    response = http.post(
        sandbox.token_url,
        json={"grant_type": "client_credentials", "client_id": sandbox.client_id},
        timeout=TIMEOUT,
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize(
    "authorization", [None, "Bearer not-a-token", "Basic c2FuZGJveDpzYW5kYm94"]
)
def test_it_answers_401_without_a_valid_token(sandbox, http, authorization):
    headers = {"Authorization": authorization} if authorization else {}

    response = http.get(
        f"{sandbox.neuroflash_api_url}/workspace-service/v1/workspaces",
        headers=headers,
        timeout=TIMEOUT,
    )

    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHORIZED"
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_it_expires_tokens_after_the_configured_ttl(sandbox, nf: Neuroflash):
    sandbox.configure(token_ttl=0.5)
    nf.token = sandbox.access_token()
    assert nf.get("/api/workspace-service/v1/workspaces").status_code == 200

    time.sleep(0.7)

    response = nf.get("/api/workspace-service/v1/workspaces")
    assert response.status_code == 401
    assert "expired" in response.json()["error"]


def test_it_reports_the_configured_ttl_as_expires_in(sandbox, http):
    sandbox.configure(token_ttl=2)

    assert _token(sandbox, http).json()["expires_in"] == 2


def test_it_keeps_tokens_across_a_reset_unless_asked_to_revoke_them(sandbox, nf: Neuroflash):
    sandbox.reset()
    assert nf.get("/api/workspace-service/v1/workspaces").status_code == 200

    sandbox.reset(revoke_tokens=True)

    assert nf.get("/api/workspace-service/v1/workspaces").status_code == 401
