"""Bearer-token authentication for the API: a personal token (accounts.api_tokens), never a
session, so a browser's cookies authorise nothing here and there is nothing for CSRF to guard."""

from __future__ import annotations

from typing import cast

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from ninja.errors import AuthenticationError
from ninja.security import HttpBearer

from accounts.api_tokens import ApiAccess, TokenRefused, api_token_authenticate
from accounts.models import Membership, Role

NO_TOKEN = "Send a personal API token: Authorization: Bearer drk_…"  # noqa: S105 - a message


class BearerToken(HttpBearer):
    def __call__(self, request: HttpRequest) -> ApiAccess | None:
        # Ninja's own __call__ logs a malformed header whole in DEBUG: that could be a token.
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise AuthenticationError(message=NO_TOKEN)
        return self.authenticate(request, value.strip())

    def authenticate(self, request: HttpRequest, token: str) -> ApiAccess:
        try:
            return api_token_authenticate(token)
        except TokenRefused as exc:
            raise AuthenticationError(message=str(exc)) from None


def access_of(request: HttpRequest) -> ApiAccess:
    return cast(ApiAccess, request.auth)  # type: ignore[attr-defined]  # set by ninja


def membership_with(request: HttpRequest, role: str = Role.VIEWER) -> Membership:
    """The token's membership (its role the token's effective one), with at least `role`."""
    membership = access_of(request).membership
    if not membership.has_role(role):
        raise PermissionDenied(
            f"This token has the {membership.get_role_display().lower()} role in "
            f"{membership.workspace}; this needs the {Role(role).label.lower()} role."
        )
    return membership
