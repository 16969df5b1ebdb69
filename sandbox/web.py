"""The tiny HTTP vocabulary the handlers speak: requests, responses, routes."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, unquote

if TYPE_CHECKING:
    from sandbox.app import App


class BodyError(ValueError):
    """The request body is not what the route needs; each provider words this its own way."""


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Message
    body: bytes = b""
    params: dict[str, str] = field(default_factory=dict)
    route_name: str = ""

    def header(self, name: str) -> str | None:
        value = self.headers.get(name)
        return value.strip() if isinstance(value, str) else None

    def arg(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None

    def json_object(self) -> dict[str, Any]:
        if not self.body.strip():
            raise BodyError("request body is empty; expected a JSON object")
        try:
            data = json.loads(self.body)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BodyError(f"request body is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise BodyError("request body must be a JSON object")
        return data

    def form(self) -> dict[str, str]:
        try:
            text = self.body.decode("utf-8")
        except UnicodeDecodeError:
            raise BodyError("form body is not UTF-8") from None
        return {key: values[0] for key, values in parse_qs(text, keep_blank_values=True).items()}

    def bearer_token(self) -> str | None:
        auth = self.header("Authorization") or ""
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        return token.strip()


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)


def json_response(obj: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    body = json.dumps(obj, separators=(",", ":")).encode()
    return Response(status, body, "application/json", dict(headers or {}))


class ApiError(Exception):
    """Raised by a handler to answer with `response` instead of carrying on."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


Handler = Callable[["App", Request], Response]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    name: str
    handler: Handler
    control: bool = False
    # Whether the route exists right now (e.g. only in some ds-prototypes layouts); a route
    # that does not is skipped as if it were never registered, so its path answers 404.
    enabled: Callable[[App], bool] | None = None


class Router:
    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(
        self,
        method: str,
        pattern: str,
        name: str,
        handler: Handler,
        *,
        control: bool = False,
        enabled: Callable[[App], bool] | None = None,
    ) -> None:
        route = Route(method, re.compile(f"^{pattern}$"), name, handler, control, enabled)
        self.routes.append(route)

    def match(
        self, method: str, path: str, app: App | None = None
    ) -> tuple[Route | None, dict[str, str], list[str]]:
        """Return the route and its decoded path params, or the methods the path allows."""
        allowed: list[str] = []
        for route in self.routes:
            found = route.pattern.match(path)
            if not found:
                continue
            if route.enabled is not None and (app is None or not route.enabled(app)):
                continue
            if route.method != method:
                allowed.append(route.method)
                continue
            # Decode after matching so an id like `openai%2Fgpt-image-1` stays one segment.
            params = {key: unquote(value) for key, value in found.groupdict().items()}
            return route, params, allowed
        return None, {}, allowed
