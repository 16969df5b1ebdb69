"""Fixtures for the provider client tests: a scripted local server and clients pointed at it.

Everything here is plain pytest (no Django), so ``pytest -p no:django tests/providers`` works.
"""

from __future__ import annotations

import itertools
import json
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from providers.http import Timeouts
from providers.nanogpt import NanoGPTClient
from providers.netguard import NetworkPolicy
from providers.neuroflash import NeuroflashClient
from providers.tokens import InMemoryTokenStore
from tests.providers.scripted_server import Reply, ScriptedServer, Seen

DATA = Path(__file__).parent / "data"

CLIENT_ID = "darkroom-test-client"
CLIENT_SECRET = "cs-7f3a9e1b-very-secret-value"
TOKEN_PREFIX = "at-9c2d-secret-token-"
API_KEY = "ng-5b8e1f-secret-api-key"
WORKSPACE = "ws-1"
# The guide's layout, which a client uses until discovery says otherwise: generate and models
# under DS (also the prefix of every view route), history, edit and delete under DS_HISTORY.
DS = "/api/ds-prototypes/image_generation"
DS_HISTORY = "/api/ds-prototypes"
TOKEN_PATH = "/oauth/v2/token"
FAST = Timeouts(connect=1.0, read=2.0, generate=2.0)


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text())


class TokenIssuer:
    """Answers the token route with tok-1, tok-2, ... and counts how often it was asked."""

    def __init__(self, expires_in: int | None = 14399) -> None:
        self.expires_in = expires_in
        self._numbers = itertools.count(1)
        self.issued: list[str] = []

    def __call__(self, seen: Seen) -> Reply:
        token = f"{TOKEN_PREFIX}{next(self._numbers)}"
        self.issued.append(token)
        body: dict[str, Any] = {"access_token": token, "token_type": "Bearer"}
        if self.expires_in is not None:
            body["expires_in"] = self.expires_in
        return Reply(json=body)


def only_token(*accepted: str, reply: Reply | None = None) -> Callable[[Seen], Reply]:
    """A route that answers ``reply`` for the listed tokens (by number) and 401 otherwise."""
    tokens = {f"Bearer {TOKEN_PREFIX}{n}" for n in accepted}

    def respond(seen: Seen) -> Reply:
        if seen.header("Authorization") in tokens:
            return reply or Reply(json={})
        return Reply(401, json={"error": "token expired", "code": "UNAUTHORIZED"})

    return respond


# Test servers listen on loopback at random ports: a policy that lets a client reach any of them.
LOCAL = NetworkPolicy.allowing(["127.0.0.1", "localhost"])


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    srv = ScriptedServer().start()
    yield srv
    srv.stop()


@pytest.fixture
def other_server() -> Iterator[ScriptedServer]:
    """A second origin (e.g. a storage host)."""
    srv = ScriptedServer().start()
    yield srv
    srv.stop()


@pytest.fixture
def issuer(server: ScriptedServer) -> TokenIssuer:
    tokens = TokenIssuer()
    server.on("POST", TOKEN_PATH, tokens)
    return tokens


@pytest.fixture
def make_nf(server: ScriptedServer) -> Iterator[Callable[..., NeuroflashClient]]:
    clients: list[NeuroflashClient] = []

    def make(**overrides: Any) -> NeuroflashClient:
        options: dict[str, Any] = {
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "workspace_id": WORKSPACE,
            "issuer_url": server.url,
            "api_base_url": server.url,
            "timeouts": FAST,
            "token_store": InMemoryTokenStore(),
        }
        options.update(overrides)
        client = NeuroflashClient(**options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def nf(make_nf: Callable[..., NeuroflashClient], issuer: TokenIssuer) -> NeuroflashClient:
    return make_nf()


@pytest.fixture
def make_ng(server: ScriptedServer) -> Iterator[Callable[..., NanoGPTClient]]:
    clients: list[NanoGPTClient] = []

    def make(**overrides: Any) -> NanoGPTClient:
        options: dict[str, Any] = {
            "api_key": API_KEY,
            "base_url": server.url,
            "timeouts": FAST,
            "min_interval": 0.0,
        }
        options.update(overrides)
        client = NanoGPTClient(**options)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def ng(make_ng: Callable[..., NanoGPTClient]) -> NanoGPTClient:
    return make_ng()


@pytest.fixture
def closed_port_url() -> str:
    """An address nothing listens on: bind a port, then release it."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
