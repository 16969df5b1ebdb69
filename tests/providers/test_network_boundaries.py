"""Where the clients may connect, and what they carry there: a hostile local server that
redirects and answers with crafted URLs, and a second port that nothing may reach."""

from __future__ import annotations

import pytest

from providers import ProviderConfig, build_provider
from providers.errors import ConfigurationError
from providers.netguard import NetworkPolicy
from tests.providers.conftest import API_KEY, CLIENT_SECRET, LOCAL, TOKEN_PATH
from tests.providers.scripted_server import Reply

BALANCE = "/api/check-balance"


def redirect(status: int, location: str) -> Reply:
    return Reply(status, headers={"Location": location})


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_the_client_secret_never_follows_a_redirect_to_another_host(
    server, other_server, make_nf, status
):
    server.on("POST", TOKEN_PATH, redirect(status, f"{other_server.url}{TOKEN_PATH}"))
    nf = make_nf(network=LOCAL)

    with pytest.raises(ConfigurationError) as caught:
        nf.fetch_token()

    message = caught.value.message
    assert f"redirecting to {other_server.url.removeprefix('http://')}" in message
    assert "do not follow redirects" in message
    assert CLIENT_SECRET not in message
    assert other_server.calls() == []
    assert server.count("POST", TOKEN_PATH) == 1


@pytest.mark.parametrize("header", ["bearer", "x-api-key"])
def test_the_api_key_never_follows_a_redirect_to_another_host(
    server, other_server, make_ng, header
):
    server.on("POST", BALANCE, redirect(307, f"{other_server.url}{BALANCE}?key=1"))
    ng = make_ng(network=LOCAL, auth_header=header)

    with pytest.raises(ConfigurationError, match=r"redirecting to 127\.0\.0\.1"):
        ng.check_balance()

    assert other_server.calls() == []


def test_a_same_origin_redirect_is_followed_with_its_method_and_body(server, make_nf, issuer):
    """FastAPI answers 307 to add a trailing slash; the same host may see the secret again."""
    server.on("POST", "/old" + TOKEN_PATH, redirect(307, TOKEN_PATH))
    nf = make_nf(issuer_url=server.url + "/old", network=LOCAL)

    assert nf.fetch_token().access_token.startswith("at-")
    (followed,) = server.calls("POST", TOKEN_PATH)
    assert CLIENT_SECRET in followed.body.decode()


def test_a_redirect_loop_on_the_same_host_stops(server, make_ng):
    server.on("POST", BALANCE, redirect(307, BALANCE))
    ng = make_ng(network=LOCAL)

    with pytest.raises(Exception, match="redirected more than 3 times"):
        ng.check_balance()

    assert server.count("POST", BALANCE) == 4


def test_a_paid_post_is_never_turned_into_a_get_by_a_redirect(server, make_ng):
    server.on("POST", "/v1/images/generations", redirect(302, "/v1/images/generations/"))
    ng = make_ng(network=LOCAL)

    with pytest.raises(ConfigurationError, match="answered 302"):
        ng.generate(prompt="a cat", model="hidream")

    assert server.count() == 1


def test_a_client_reaches_no_address_its_policy_does_not_name(server, other_server):
    """The app's policy names the operator's hosts only; a workspace admin's URL for another
    local port (or the metadata service) is refused before any byte is sent."""
    strict = NetworkPolicy.allowing([server.url])
    for base_url in (other_server.url, "http://169.254.169.254", "http://10.0.0.1:8080"):
        provider = build_provider(
            ProviderConfig(kind="nanogpt", secret=API_KEY, base_url=base_url, network=strict)
        )
        with pytest.raises(ConfigurationError, match="which the worker may not connect to"):
            provider.get_quota()
    assert other_server.calls() == []


def test_a_crafted_url_reaches_no_second_port(server, other_server, make_ng):
    """A URL built so that two parsers disagree about its host is refused by the client's HTTP
    layer, not fetched from either. (Result images are fetched by gallery.ingest, which
    refuses the same URLs: tests/gallery/test_ingest.py.)"""
    server.on("GET", "/x.png", Reply(body=b"\x89PNG", headers={"Content-Type": "image/png"}))
    ng = make_ng(network=LOCAL)
    crafted = f"http://{other_server.url.removeprefix('http://')}\\@{server.url[7:]}/x.png"

    with pytest.raises(ConfigurationError, match="backslash"):
        ng.http.send("GET", crafted, action="fetching an image")

    assert other_server.calls() == []
    assert server.calls() == []
