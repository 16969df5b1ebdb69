from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.messages import get_messages
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string


class ContentSecurityPolicyMiddleware:
    """Send the configured Content-Security-Policy on every response that has none yet."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if settings.CONTENT_SECURITY_POLICY:
            response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        return response


class HtmxMessagesMiddleware:
    """Deliver Django messages queued during an htmx request as out-of-band toasts.

    A full page shows messages from base.html; an htmx swap never re-renders base.html, so the
    pending messages are appended to the fragment and htmx moves them into the toast area.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not getattr(request, "htmx", False) or response.streaming:
            return response
        if "HX-Redirect" in response.headers or "HX-Location" in response.headers:
            return response  # the next full page shows them
        if not response.get("Content-Type", "").startswith("text/html"):
            return response
        messages = list(get_messages(request))
        if messages:
            response.content += render_to_string(
                "partials/toasts_oob.html", {"messages": messages}, request=request
            ).encode()
        return response
