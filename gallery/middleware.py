"""The thumbnail fast path: signed thumbnail URLs answered before the rest of the stack."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase

from gallery.thumbnails import URL_PREFIX
from gallery.views.images import thumbnail


class SignedThumbnailMiddleware:
    """Serve `/t/<token>/` right after whitenoise, as whitenoise serves static files: sessions,
    CSRF, auth, messages and the URL resolver have nothing to add to a request whose token is
    its whole permission, and skipping them takes 40 % off the time of a page's 48 thumbnails
    (tests/bench/gallery.py). The security middleware above still sets its headers. Without
    this middleware the same view answers through the URLconf."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.prefix = f"/{URL_PREFIX}"

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        path = request.path_info
        if path.startswith(self.prefix):
            token, slash, rest = path.removeprefix(self.prefix).partition("/")
            if token and slash and not rest:
                return thumbnail(request, token)
        return self.get_response(request)
