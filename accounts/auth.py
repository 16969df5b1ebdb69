"""How django-axes names the person and the address behind a login attempt."""

from __future__ import annotations

from typing import Any

from django.conf import settings
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
