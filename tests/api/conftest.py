"""API fixtures: tokens for the cast, and a client that sends one (and no session)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from accounts.api_tokens import api_token_create
from accounts.models import Membership, User, Workspace

# The gallery's fixtures, so the API is tested against the same sandbox workspace, quota and
# submit helpers as the Generate page.
from tests.gallery.conftest import (  # noqa: F401
    _media_in_tmp,
    _no_heartbeat_thread_writes,
    nanogpt_studio,
    quota_left,
    submit,
)


class ApiClient:
    """The Django test client with a bearer token on every request."""

    def __init__(self, token: str) -> None:
        self.token = token
        self.client = Client()

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **(headers or {})}

    def get(self, path: str, data: dict | None = None, **headers: str):
        return self.client.get(path, data, headers=self._headers(headers))

    def post(self, path: str, body: dict | None = None, **headers: str):
        return self.client.post(
            path, body or {}, content_type="application/json", headers=self._headers(headers)
        )


@pytest.fixture
def token_for() -> Callable[..., str]:
    """A new token of `user` in `workspace` (their only one unless named), with `role`
    (their own by default)."""

    def make(user: User, *, workspace: Workspace | None = None, role: str | None = None) -> str:
        membership = Membership.objects.select_related("user", "workspace").get(
            user=user, **({"workspace": workspace} if workspace else {})
        )
        return api_token_create(
            membership=membership, name="script", role=role or membership.role
        ).raw

    return make


@pytest.fixture
def api_as(token_for) -> Callable[..., ApiClient]:
    def make(user: User, **kwargs: object) -> ApiClient:
        return ApiClient(token_for(user, **kwargs))

    return make


@pytest.fixture
def member_api(api_as, member, studio) -> ApiClient:
    return api_as(member)
