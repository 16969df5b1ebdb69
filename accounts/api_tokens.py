"""Personal API tokens: made on the account's API tokens page, checked on every API request.

A token reads `drk_<prefix>_<secret>`. The prefix finds the row (and is what the page shows);
the whole token's SHA-256 is compared in constant time. The secret is never stored or logged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import ApiToken, AuditVerb, Membership, Role, User
from accounts.services import audit_record
from accounts.text import english, stored_message_id

# `last_used_at` is written at most this often per token, not on every request.
LAST_USED_PRECISION = dt.timedelta(minutes=1)
REVOKED = "This API token has been revoked. Create a new one on your API tokens page."
UNKNOWN = "This API token is not valid. Check that it was copied whole."
NO_LONGER_MEMBER = "This API token's owner is no longer a member of its workspace."

# Stored in English, shown in the reader's language (accounts.text.stored_text).
TOKEN_DETAIL = stored_message_id(gettext_noop("%(prefix)s…, role %(role)s"))


def roles_up_to(role: str) -> list[tuple[str, str]]:
    """The roles a token of a member with `role` may have, least powerful first."""
    return [
        (value, str(label))
        for value, label in reversed(Role.choices)
        if Role.rank(value) <= Role.rank(role)
    ]


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    raw: str  # shown once, on the page that made it; never stored


@transaction.atomic
def api_token_create(*, membership: Membership, name: str, role: str) -> NewToken:
    """A new token for the member in their workspace, with at most their role.
    Raises ValidationError (on `role`) for a role above theirs."""
    if role not in Role.values or not membership.has_role(role):
        raise ValidationError(
            {
                "role": _("Your role is %(role)s: a token can have that role or a lesser one.")
                % {"role": membership.get_role_display().lower()}
            }
        )
    prefix = secrets.token_hex(4)
    raw = f"{ApiToken.SCHEME}{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken.objects.create(
        owner=membership.user,
        workspace=membership.workspace,
        name=name,
        role=role,
        prefix=prefix,
        hash=_digest(raw),
    )
    audit_record(
        workspace=membership.workspace,
        actor=membership.user,
        verb=AuditVerb.TOKEN_CREATED,
        target=name,
        detail=TOKEN_DETAIL % {"prefix": token.display_prefix, "role": english(Role(role).label)},
    )
    return NewToken(token, raw)


def api_token_list(*, membership: Membership) -> QuerySet[ApiToken]:
    """The member's own tokens in the workspace, newest first, revoked ones included."""
    return ApiToken.objects.filter(owner=membership.user, workspace=membership.workspace)


def api_token_revoke(*, token: ApiToken, membership: Membership) -> bool:
    """Revoke a token of the member's workspace: their own, or anyone's for an admin.
    False when it was revoked already. Raises PermissionDenied for anyone else."""
    if token.owner_id != membership.user_id and not membership.is_admin:
        raise PermissionDenied(_("Only the token's owner or an admin can revoke it."))
    now = timezone.now()
    with transaction.atomic():
        if not ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(
            revoked_at=now, revoked_by=membership.user
        ):
            return False
        audit_record(
            workspace=token.workspace,
            actor=membership.user,
            verb=AuditVerb.TOKEN_REVOKED,
            target=token.name,
            detail=f"{token.display_prefix}…",
        )
    token.revoked_at = now
    return True


class TokenRefused(Exception):
    """The bearer token cannot be used; the message says why, for the API's 401."""


@dataclass(frozen=True)
class ApiAccess:
    """Who an API request acts as. `membership.role` is the token's effective role (the lower
    of the token's and the member's current one); the membership is never saved from here."""

    token: ApiToken
    membership: Membership

    @property
    def user(self) -> User:
        return self.membership.user


def api_token_authenticate(raw: str) -> ApiAccess:
    """The access a bearer token gives now. Raises TokenRefused."""
    scheme, _, rest = raw.partition(ApiToken.SCHEME)
    prefix, _, secret = rest.partition("_")
    if scheme or not prefix or not secret:
        raise TokenRefused(UNKNOWN)
    token = ApiToken.objects.select_related("owner", "workspace").filter(prefix=prefix).first()
    # Compared in constant time even for an unknown prefix, so timing tells nothing.
    expected = token.hash if token is not None else _digest("")
    if not hmac.compare_digest(expected, _digest(raw)) or token is None:
        raise TokenRefused(UNKNOWN)
    if token.is_revoked:
        raise TokenRefused(REVOKED)
    if not token.owner.is_active:
        raise TokenRefused(UNKNOWN)
    membership = Membership.objects.filter(user=token.owner, workspace=token.workspace).first()
    if membership is None:
        raise TokenRefused(NO_LONGER_MEMBER)
    membership.user, membership.workspace = token.owner, token.workspace
    if Role.rank(token.role) < Role.rank(membership.role):
        membership.role = token.role
    _touch(token)
    return ApiAccess(token, membership)


def _touch(token: ApiToken) -> None:
    """Note the use, at most once a minute rather than a write per request (the UPDATE is
    conditional: of two requests at once, one writes)."""
    now = timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_PRECISION:
        return
    stale = Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_PRECISION)
    if ApiToken.objects.filter(stale, pk=token.pk).update(last_used_at=now):
        token.last_used_at = now
