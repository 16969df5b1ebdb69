"""neuroflash access tokens: OAuth2 client credentials, cached in a shared ``TokenStore``.

There is no refresh token: a new token is another client-credentials call. The docs ask for
the token to be reused until it expires (about 4 h), and with many worker processes the
refresh must happen once, not once per process, hence the store and its optional lock.
"""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from contextlib import AbstractContextManager

from providers._parse import PayloadError
from providers.errors import AuthenticationError, ProviderError
from providers.http import HttpClient
from providers.neuroflash_payloads import AccessToken
from providers.tokens import LockingTokenStore, TokenStore

TOKEN_PATH = "/oauth/v2/token"  # noqa: S105 - a URL path, not a secret
# Refresh this long before the issuer's expiry so a token never dies mid-request (spec §3.1).
TOKEN_MARGIN_SECONDS = 60.0
# When the issuer omits expires_in we cannot know the lifetime; a short cache bounds the harm.
TOKEN_FALLBACK_TTL = 300.0
TOKEN_LOCK_TIMEOUT = 15.0


class ClientCredentials:
    """Tokens for one service account at one issuer."""

    def __init__(
        self,
        *,
        http: HttpClient,
        issuer_url: str,
        client_id: str,
        client_secret: str,
        token_store: TokenStore,
    ) -> None:
        self.http = http
        self.issuer_url = issuer_url.rstrip("/")
        self.client_id = client_id
        self._client_secret = client_secret
        self.token_store = token_store
        http.add_secret(client_secret)
        # Keyed by issuer + client id + a fingerprint of the secret: after an operator fixes a
        # wrong secret, "Test connection" must not pass on a token the old secret obtained.
        fingerprint = hashlib.sha256(
            f"{self.issuer_url}\n{client_id}\n{client_secret}".encode()
        ).hexdigest()[:32]
        self.key = f"neuroflash-token:{fingerprint}"
        self._local_lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"ClientCredentials(issuer_url={self.issuer_url!r}, client_id={self.client_id!r}, "
            "client_secret='***')"
        )

    def fetch(self) -> AccessToken:
        """Always asks the issuer (form body with the credentials, scope ``openid``)."""
        action = "fetching an access token"
        try:
            response = self.http.send(
                "POST",
                self.issuer_url + TOKEN_PATH,
                action=action,
                form={
                    "grant_type": "client_credentials",
                    "client_id": self.client_id,
                    "client_secret": self._client_secret,
                    "scope": "openid",
                },
                headers={"Accept": "application/json"},
            )
        except ProviderError as exc:
            raise self._token_error(exc) from None
        body = self.http.parse_json(response, action=action)
        try:
            token = AccessToken.from_api(body)
        except PayloadError as exc:
            raise self.http.malformed(action, str(exc)) from None
        self.http.add_secret(token.access_token)
        return token

    def token(self) -> str:
        """A valid token from the store, fetching (once, under a lock) when none is cached."""
        cached = self._cached()
        if cached is not None:
            return cached
        return self.refresh(stale=None)

    def refresh(self, *, stale: str | None) -> str:
        """Fetch a new token unless someone else already replaced ``stale`` meanwhile.

        Threads in this process serialise on a local lock; processes serialise on the store's
        lock when it has one. After acquiring, the store is read again: if it now holds a token
        other than the one that failed, another worker refreshed it and we use theirs.
        """
        with self._local_lock, self._store_lock():
            current = self._cached()
            if current is not None and current != stale:
                return current
            token = self.fetch()
            expires_in = float(token.expires_in) if token.expires_in else TOKEN_FALLBACK_TTL
            margin = min(TOKEN_MARGIN_SECONDS, expires_in / 2)
            self.token_store.set(self.key, token.access_token, expires_in - margin)
            return token.access_token

    def _cached(self) -> str | None:
        entry = self.token_store.get(self.key)
        if entry is None:
            return None
        token, expires_at = entry
        if expires_at <= time.time():
            return None
        self.http.add_secret(token)
        return token

    def _store_lock(self) -> AbstractContextManager[bool]:
        if isinstance(self.token_store, LockingTokenStore):
            return self.token_store.lock(self.key, TOKEN_LOCK_TIMEOUT)
        return contextlib.nullcontext(True)

    def _token_error(self, exc: ProviderError) -> ProviderError:
        # Zitadel answers bad credentials with an OAuth2 body ({"error": "invalid_client"}),
        # as 401 or 400 depending on the grant; both mean "fix the client ID or secret".
        oauth_code = (exc.code or "").lower()
        if exc.status == 401 or oauth_code in {"invalid_client", "unauthorized_client"}:
            return AuthenticationError(
                f"{self.http.provider} rejected the client ID or secret ({exc.status})",
                provider=self.http.provider,
                status=exc.status,
                code=exc.code,
                provider_message=exc.provider_message,
            )
        return exc
