"""Secrets (client secret, access tokens, API keys) never reach logs, messages or reprs."""

from __future__ import annotations

import logging
import traceback

import pytest

from providers import InMemoryTokenStore, ProviderConfig, ProviderError, build_provider
from providers.http import Timeouts, loggable_url
from providers.neuroflash_payloads import AccessToken
from tests.providers.conftest import (
    API_KEY,
    CLIENT_ID,
    CLIENT_SECRET,
    DS,
    TOKEN_PATH,
    TOKEN_PREFIX,
    TokenIssuer,
)
from tests.providers.scripted_server import Reply

SECRETS = (CLIENT_SECRET, TOKEN_PREFIX, API_KEY)


def assert_clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


def everything_about(error: ProviderError) -> str:
    return "\n".join(
        [
            str(error),
            repr(error),
            error.provider_message or "",
            error.code or "",
            "".join(traceback.format_exception(error)),
        ]
    )


@pytest.fixture
def debug_logs(caplog):
    caplog.set_level(logging.DEBUG)
    for name in ("urllib3", "urllib3.connectionpool", "requests", "providers"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def test_failing_calls_leak_no_secret(server, make_nf, make_ng, closed_port_url, debug_logs):
    errors: list[ProviderError] = []

    def collect(call):
        with pytest.raises(ProviderError) as caught:
            call()
        errors.append(caught.value)

    issuer = TokenIssuer()
    # 1. the issuer echoes the secret back in its error text
    server.on(
        "POST",
        TOKEN_PATH,
        Reply(
            401,
            json={
                "error": "invalid_client",
                "error_description": f"client secret {CLIENT_SECRET} is wrong",
            },
        ),
        issuer,
    )
    collect(lambda: make_nf().access_token())

    # 2. the API rejects every token and echoes it (twice, with one refresh in between)
    def echo_token(seen):
        return Reply(401, json={"error": f"token {seen.header('Authorization')} expired"})

    server.on("GET", "/api/workspace-service/v1/workspaces", echo_token)
    client = make_nf()
    collect(client.list_workspaces)

    # 3. a 500 quoting the request headers
    server.on(
        "POST",
        f"{DS}/",
        Reply(500, json={"detail": f"upstream said: Authorization: Bearer {TOKEN_PREFIX}2"}),
    )
    collect(lambda: client.generate(prompt="a cat"))

    # 4. a timeout, 5. a refused connection, 6. a body that is not JSON
    server.on("GET", f"{DS}/models", Reply(json=[], delay=0.5))
    slow = make_nf(timeouts=Timeouts(connect=1, read=0.1))
    collect(slow.list_models)
    collect(lambda: make_nf(issuer_url=closed_port_url).access_token())
    server.on("GET", f"{DS}/history", Reply(body=f"oops {TOKEN_PREFIX}2"))
    collect(client.history_page)

    # 7. NanoGPT echoing the API key
    server.on(
        "POST",
        "/v1/images/generations",
        Reply(401, json={"error": {"message": f"Invalid API key {API_KEY}", "type": "auth"}}),
    )
    collect(lambda: make_ng().generate(prompt="a cat"))

    assert len(errors) == 7
    for error in errors:
        assert_clean(everything_about(error))
    assert "***" in errors[0].provider_message
    assert debug_logs.records, "expected urllib3/providers debug logs to be captured"
    assert any(r.name.startswith("urllib3") for r in debug_logs.records)
    assert_clean(debug_logs.text)
    for record in debug_logs.records:
        assert_clean(record.getMessage())


def test_reprs_hide_secrets(server, issuer, make_nf, make_ng):
    config = ProviderConfig(kind="neuroflash", client_id=CLIENT_ID, secret=CLIENT_SECRET)
    assert_clean(repr(config))
    assert "secret='***'" in repr(config)
    assert_clean(str(config))

    store = InMemoryTokenStore()
    client = make_nf(token_store=store)
    client.access_token()
    assert_clean(repr(client))
    assert_clean(repr(store))
    assert_clean(repr(client.http))
    assert_clean(repr(build_provider(config)))
    assert_clean(repr(AccessToken(access_token=f"{TOKEN_PREFIX}9", expires_in=1)))

    ng = make_ng()
    assert_clean(repr(ng))
    assert_clean(repr(build_provider(ProviderConfig(kind="nanogpt", secret=API_KEY))))


def test_presigned_queries_are_not_logged():
    url = "https://storage.example.com/a.png?X-Amz-Signature=abc&X-Amz-Expires=3600"
    assert loggable_url(url) == "https://storage.example.com/a.png?***"
    plain = "https://app.neuroflash.com/api/ds-prototypes/history?limit=10&offset=0"
    assert loggable_url(plain) == plain
