"""neuroflash tokens: client credentials, caching in a TokenStore, one refresh on 401."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from providers.errors import AuthenticationError, InvalidRequestError
from providers.tokens import InMemoryTokenStore, LockingTokenStore, TokenStore
from tests.providers.conftest import (
    CLIENT_ID,
    CLIENT_SECRET,
    TOKEN_PATH,
    TOKEN_PREFIX,
    TokenIssuer,
    only_token,
)
from tests.providers.scripted_server import Reply

WORKSPACES = "/api/workspace-service/v1/workspaces"
OK_WORKSPACES = Reply(json={"_embedded": {"workspaces": [{"id": "ws-1", "name": "Studio"}]}})


def test_it_asks_for_a_token_with_client_credentials_in_the_form_body(server, issuer, nf):
    server.on("GET", WORKSPACES, OK_WORKSPACES)
    nf.list_workspaces()
    (call,) = server.calls("POST", TOKEN_PATH)
    assert call.form() == {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "scope": "openid",
    }
    assert call.header("Content-Type") == "application/x-www-form-urlencoded"
    assert call.header("Authorization") is None  # not HTTP Basic
    (api_call,) = server.calls("GET", WORKSPACES)
    assert api_call.header("Authorization") == f"Bearer {TOKEN_PREFIX}1"


def test_it_reuses_one_token_across_many_calls(server, issuer, nf):
    server.on("GET", WORKSPACES, OK_WORKSPACES)
    for _ in range(10):
        nf.list_workspaces()
    assert issuer.issued == [f"{TOKEN_PREFIX}1"]
    assert server.count("GET", WORKSPACES) == 10


def test_it_fetches_one_token_for_many_threads_at_once(server, nf):
    slow_issuer = TokenIssuer()

    def slow(seen):
        time.sleep(0.2)  # wide window for a thundering herd
        return slow_issuer(seen)

    server.on("POST", TOKEN_PATH, slow)
    server.on("GET", WORKSPACES, OK_WORKSPACES)
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda _: nf.list_workspaces(), range(32)))
    assert all(r[0].id == "ws-1" for r in results)
    assert server.count("POST", TOKEN_PATH) == 1


def test_clients_sharing_a_store_share_the_token(server, issuer, make_nf):
    # Two clients on one store stand in for two worker processes on one Redis cache.
    store = InMemoryTokenStore()
    server.on("GET", WORKSPACES, OK_WORKSPACES)
    first, second = make_nf(token_store=store), make_nf(token_store=store)
    first.list_workspaces()
    second.list_workspaces()
    assert server.count("POST", TOKEN_PATH) == 1


def test_it_caches_until_shortly_before_expiry(server, issuer, nf):
    server.on("GET", WORKSPACES, OK_WORKSPACES)
    before = time.time()
    nf.list_workspaces()
    (entry,) = nf.token_store._tokens.values()
    assert entry[0] == f"{TOKEN_PREFIX}1"
    # 14399 s from the issuer, minus the 60 s safety margin
    assert before + 14399 - 60 - 1 <= entry[1] <= time.time() + 14399 - 60


def test_it_fetches_again_once_the_cached_token_expired(server, make_nf):
    issuer = TokenIssuer(expires_in=2)  # margin becomes 1 s, so it is cached for 1 s
    server.on("POST", TOKEN_PATH, issuer)
    server.on("GET", WORKSPACES, OK_WORKSPACES)
    client = make_nf()
    client.list_workspaces()
    client.list_workspaces()
    assert len(issuer.issued) == 1
    time.sleep(1.05)
    client.list_workspaces()
    assert len(issuer.issued) == 2


def test_a_different_secret_does_not_reuse_the_cached_token(server, issuer, make_nf):
    store = InMemoryTokenStore()
    server.on("GET", WORKSPACES, OK_WORKSPACES)
    make_nf(token_store=store).list_workspaces()
    make_nf(token_store=store, client_secret="cs-another-secret-value").list_workspaces()
    assert server.count("POST", TOKEN_PATH) == 2


def test_it_refreshes_once_after_a_401_and_replays_the_call(server, issuer, nf):
    server.on("GET", WORKSPACES, only_token("2", reply=OK_WORKSPACES))
    (workspace,) = nf.list_workspaces()
    assert workspace.id == "ws-1"
    assert issuer.issued == [f"{TOKEN_PREFIX}1", f"{TOKEN_PREFIX}2"]
    assert [c.header("Authorization") for c in server.calls("GET", WORKSPACES)] == [
        f"Bearer {TOKEN_PREFIX}1",
        f"Bearer {TOKEN_PREFIX}2",
    ]
    # the fresh token is what later calls use
    nf.list_workspaces()
    assert len(issuer.issued) == 2


def test_a_second_401_is_an_authentication_error_not_a_loop(server, issuer, nf):
    server.on("GET", WORKSPACES, only_token())  # rejects every token
    with pytest.raises(AuthenticationError) as caught:
        nf.list_workspaces()
    assert server.count("POST", TOKEN_PATH) == 2
    assert server.count("GET", WORKSPACES) == 2
    assert caught.value.status == 401
    assert "freshly issued access token" in caught.value.message


def test_a_refresh_by_another_worker_is_picked_up_instead_of_fetching(server, issuer, make_nf):
    class SeenStaleOnce(InMemoryTokenStore):
        """Hands out the old token once, as if read just before another worker refreshed."""

        def __init__(self) -> None:
            super().__init__()
            self.stale_reads = 0

        def get(self, key):
            if self.stale_reads:
                self.stale_reads -= 1
                return (f"{TOKEN_PREFIX}old", time.time() + 600)
            return super().get(key)

    store = SeenStaleOnce()
    other_worker = make_nf(token_store=store)
    other_worker.access_token()  # the other worker refreshed: the store holds tok-1
    store.stale_reads = 1  # ...but this worker read the store just before that
    server.on("GET", WORKSPACES, only_token("1", reply=OK_WORKSPACES))
    make_nf(token_store=store).list_workspaces()
    # the 401 on "old" was answered with the token already in the store: no second fetch
    assert issuer.issued == [f"{TOKEN_PREFIX}1"]
    assert server.count("GET", WORKSPACES) == 2


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (401, {"error": "invalid_client", "error_description": "client authentication failed"}),
        (400, {"error": "invalid_client"}),
    ],
)
def test_bad_client_credentials_are_an_authentication_error(server, make_nf, status, body):
    server.on("POST", TOKEN_PATH, Reply(status, json=body))
    client = make_nf()
    with pytest.raises(AuthenticationError) as caught:
        client.list_workspaces()
    assert caught.value.message == f"neuroflash rejected the client ID or secret ({status})"
    assert server.count("GET", WORKSPACES) == 0


def test_other_token_endpoint_errors_keep_their_type(server, make_nf):
    server.on("POST", TOKEN_PATH, Reply(400, json={"error": "invalid_scope"}))
    with pytest.raises(InvalidRequestError):
        make_nf().access_token()


def test_a_token_without_expires_in_is_cached_briefly(server, make_nf):
    server.on("POST", TOKEN_PATH, TokenIssuer(expires_in=None))
    client = make_nf()
    client.access_token()
    (entry,) = client.token_store._tokens.values()
    assert entry[1] - time.time() <= 300


def test_a_store_without_a_lock_still_works(server, issuer, make_nf):
    class PlainStore:
        def __init__(self) -> None:
            self.data: dict[str, tuple[str, float]] = {}

        def get(self, key):
            return self.data.get(key)

        def set(self, key, token, ttl):
            self.data[key] = (token, time.time() + ttl)

    store = PlainStore()
    assert isinstance(store, TokenStore)
    assert not isinstance(store, LockingTokenStore)
    server.on("GET", WORKSPACES, OK_WORKSPACES)
    client = make_nf(token_store=store)
    client.list_workspaces()
    client.list_workspaces()
    assert server.count("POST", TOKEN_PATH) == 1


def test_the_in_memory_store_expires_entries_and_locks_per_key():
    store = InMemoryTokenStore()
    assert isinstance(store, LockingTokenStore)
    store.set("k", "t", ttl=0.05)
    assert store.get("k")[0] == "t"
    time.sleep(0.06)
    assert store.get("k") is None

    with store.lock("k", timeout=1) as acquired:
        assert acquired
        results: list[bool] = []
        waiter = threading.Thread(
            target=lambda: results.append(store.lock("k", timeout=0.05).__enter__())
        )
        waiter.start()
        waiter.join()
        assert results == [False]  # held elsewhere: gives up after the timeout
    assert repr(store) == "InMemoryTokenStore(keys=0)"
