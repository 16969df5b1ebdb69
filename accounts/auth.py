"""How django-axes names the person and the address behind a login attempt."""

from __future__ import annotations

from typing import Any

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest


def axes_username(request: HttpRequest, credentials: dict[str, Any] | None) -> str:
    """The email as typed, in one spelling: Alice@Example.com must not escape alice's lockout.

    Signing in ignores case, so the failures counted against an address must ignore it too.
    """
    field = settings.AXES_USERNAME_FORM_FIELD
    raw = (credentials or {}).get(field) or request.POST.get(field) or ""
    return str(raw).strip().lower()


def client_ip_behind_proxy(request: HttpRequest) -> str | None:
    """The client's address as the trusted proxies in front of us saw it.

    Each of TRUSTED_PROXY_COUNT proxies appends the address it received the request from to
    X-Forwarded-For, so the client is that many entries from the right; anything further left
    was written by the client and proves nothing.
    """
    count = settings.TRUSTED_PROXY_COUNT
    hops = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    hops = [hop for hop in hops if hop]
    if len(hops) >= count:
        return hops[-count]
    return request.META.get("REMOTE_ADDR")


class LoginLockoutHandler(AxesDatabaseHandler):
    """django-axes' database handler with a second, wider limit: per address.

    Axes pauses one email from one address after LOGIN_FAILURE_LIMIT failures. Someone trying
    many emails from one address would never meet that, so failures from one address are also
    added up, whatever the email, and capped at LOGIN_FAILURE_LIMIT_PER_ADDRESS within the
    cool-off (higher, as an office behind one address shares it).
    """

    def is_locked(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> bool:
        return super().is_locked(request, credentials) or self._address_paused(request)

    def user_login_failed(
        self,
        sender: Any,
        credentials: dict[str, Any],
        request: HttpRequest | None = None,
        **kwargs: Any,
    ) -> None:
        # Axes records the failure and decides on its own limit; then the address's turn.
        super().user_login_failed(sender, credentials, request, **kwargs)
        if request is None or getattr(request, "axes_locked_out", False):
            return
        if self._address_paused(request):
            # django-axes reads its verdict off these request attributes (untyped by design).
            request.axes_locked_out = True  # type: ignore[attr-defined]
            request.axes_credentials = credentials  # type: ignore[attr-defined]

    def _address_paused(self, request: HttpRequest) -> bool:
        paused = self.address_failures(request) >= settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS
        if paused:
            # Read by the lockout page to say it is the address, not the account, that waits.
            request.login_paused_for_address = True  # type: ignore[attr-defined]
        return paused

    def address_failures(self, request: HttpRequest) -> int:
        address = getattr(request, "axes_ip_address", None)
        if not address:
            return 0
        recent = AccessAttempt.objects.filter(
            ip_address=address, attempt_time__gte=get_cool_off_threshold(request)
        )
        return recent.aggregate(total=Sum("failures_since_start"))["total"] or 0
