"""The sandbox's shared state: settings, store, faults, counters and the route table."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, replace
from typing import Any

from sandbox import control, ds_prototypes, image_service, nanogpt, neuroflash
from sandbox.faults import Counters, FaultBook
from sandbox.settings import Settings
from sandbox.store import Store
from sandbox.web import Router

# What may follow the account prefix: an id that is safe in a URL path and a header.
_ACCOUNT_NAME = re.compile(r"^[A-Za-z0-9._-]{1,100}$")


@dataclass(frozen=True)
class RuntimeConfig:
    """Switches a test flips over `/_control/config`; a reset restores the startup values."""

    history_shape: str
    token_ttl: float
    url_ttl: float
    quota_status: int = 429
    force_b64: bool = False
    # Where generate answers put `images[].url` ("" = this server): the docs' example is on a
    # separate storage host. Another name for this server stands in for one in tests.
    storage_url: str = ""
    # Which documented ds-prototypes layout is served (see ds_prototypes.LAYOUTS).
    ds_layout: str = ds_prototypes.DEFAULT_LAYOUT


def build_router() -> Router:
    router = Router()
    for module in (control, neuroflash, image_service, ds_prototypes, nanogpt):
        module.register(router)
    return router


class App:
    def __init__(self, settings: Settings, public_url: str) -> None:
        self.settings = settings
        self.public_url = public_url.rstrip("/")
        self.store = Store(settings.db)
        self.faults = FaultBook()
        self.counters = Counters()
        self.config = self.default_config()
        self.router = build_router()
        self._signing_key = self.store.signing_key()
        self._initialise()

    def default_config(self) -> RuntimeConfig:
        return RuntimeConfig(
            history_shape="list",
            token_ttl=self.settings.token_ttl,
            url_ttl=self.settings.url_ttl,
            ds_layout=self.settings.ds_layout,
        )

    def configure(self, **changes: Any) -> RuntimeConfig:
        self.config = replace(self.config, **changes)
        return self.config

    def _initialise(self) -> None:
        # Only fills what is missing, so a restart keeps the quota use and balance on disk.
        for workspace_id in self.settings.workspace_ids:
            self.store.ensure_quota(
                workspace_id, self.settings.quota_monthly, self.settings.quota_daily
            )
        if self.store.meta("balance") is None:
            self.store.set_balance(self.settings.balance)

    def is_demo_account(self, client_id: str) -> bool:
        """A client id that names a demo account of its own: the account prefix and a name.

        Each demo account owns one workspace with the same id, its own history and quota, so
        several users (or Darkroom workspaces) of one sandbox never see each other's images."""
        prefix = self.settings.account_prefix
        return (
            bool(prefix)
            and client_id.startswith(prefix)
            and _ACCOUNT_NAME.match(client_id[len(prefix) :]) is not None
            and client_id != self.settings.client_id
            and client_id not in self.settings.workspace_ids
        )

    def workspaces_of(self, client_id: str) -> tuple[str, ...]:
        """The workspaces a client's token reaches: the configured ones for the configured
        client, its own for a demo account (created, with a fresh quota, on first use)."""
        if self.is_demo_account(client_id):
            self.store.ensure_quota(
                client_id, self.settings.quota_monthly, self.settings.quota_daily
            )
            return (client_id,)
        if client_id == self.settings.client_id:
            return self.settings.workspace_ids
        return ()

    def reset(self, *, revoke_tokens: bool = False) -> None:
        self.faults.clear()
        self.counters.clear()
        self.store.wipe(revoke_tokens=revoke_tokens)
        self.config = self.default_config()
        self._initialise()

    def close(self) -> None:
        self.faults.clear()
        self.store.close()

    def absolute(self, path: str) -> str:
        return f"{self.public_url}{path}"

    def storage_absolute(self, path: str) -> str:
        return f"{self.config.storage_url or self.public_url}{path}"

    def sign(self, message: str) -> str:
        return hmac.new(self._signing_key, message.encode(), hashlib.sha256).hexdigest()

    def signature_matches(self, message: str, signature: str) -> bool:
        return hmac.compare_digest(self.sign(message), signature)
