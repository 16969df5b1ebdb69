from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.messages import get_messages
from django.core.signals import request_finished
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string

from config import health, logcontext


class HealthCheckMiddleware:
    """Answer /healthz and /readyz before anything else: a load balancer polls them by address
    over plain HTTP inside the network, so no host check, no HTTPS redirect, no session."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        view = health.VIEWS.get(request.path_info)
        if view is not None:
            return view(request)
        return self.get_response(request)


class RequestIdMiddleware:
    """Give each request an id (a proxy's X-Request-ID when it is a plain one) that every log
    line written for the request carries, and send it back in the response."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = logcontext.request_id_from(request.headers.get("X-Request-ID"))
        # Not reset on the way out: Django logs a 4xx/5xx response after the middleware has
        # returned; request_finished clears it (below).
        logcontext.request_id.set(request_id)
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        return response


def _forget_request_id(**_: Any) -> None:
    logcontext.request_id.set(None)


request_finished.connect(_forget_request_id, dispatch_uid="forget_request_id")


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
