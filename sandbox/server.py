"""The HTTP side: one threaded stdlib server, one handler that routes, counts and injects faults."""

from __future__ import annotations

import sys
import traceback
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sandbox.app import App
from sandbox.faults import FaultRule, Plan
from sandbox.settings import Settings
from sandbox.web import ApiError, Request, Response, Route, json_response

MAX_BODY = 32 * 1024 * 1024
# What a client sees for `malformed_json`: cut off mid-document, as a dropped proxy would.
MALFORMED_BODY = b'{"images": [{"url": "https://storage.example.com/generated/ima'

_NF_CODES = {401: "UNAUTHORIZED", 403: "FORBIDDEN", 404: "NOT_FOUND", 429: "RATE_LIMITED"}
_NF_CODES |= {500: "INTERNAL_ERROR", 502: "BAD_GATEWAY", 503: "SERVICE_UNAVAILABLE"}
_NG_TYPES = {401: "authentication_error", 403: "permission_error", 404: "not_found_error"}
_NG_TYPES |= {429: "rate_limit_error", 503: "service_unavailable"}


def fault_body(route_name: str, status: int) -> dict[str, Any]:
    """An error body in the format of the provider that owns the route."""
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    message = f"{phrase} (injected by the sandbox)"
    if route_name == "nf.token":
        error = "invalid_client" if status == 401 else "temporarily_unavailable"
        return {"error": error, "error_description": message}
    if route_name.startswith("ng."):
        if status == 402:
            return {"error": "Insufficient balance", "status": 402}
        error_type = _NG_TYPES.get(
            status, "server_error" if status >= 500 else "invalid_request_error"
        )
        code = "rate_limit_exceeded" if status == 429 else error_type
        return {"error": {"message": message, "type": error_type, "code": code}}
    return {"error": message, "code": _NF_CODES.get(status, f"HTTP_{status}")}


class SandboxServer(ThreadingHTTPServer):
    # Daemon threads and no join on close: a hung (fault-injected) request must not block exit.
    daemon_threads = True
    block_on_close = False
    app: App


class SandboxHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "DarkroomSandbox/1.0"
    # Headers and body go out as separate writes; without TCP_NODELAY each response stalls
    # ~40 ms on the client's delayed ACK.
    disable_nagle_algorithm = True
    server: SandboxServer

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_PUT(self) -> None:
        self._dispatch()

    def do_PATCH(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def log_message(self, format: str, *args: Any) -> None:
        if not self.server.app.settings.quiet:
            super().log_message(format, *args)

    def _read_body(self) -> bytes | None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 <= length <= MAX_BODY:
            self._send(json_response({"error": "bad or oversized Content-Length"}, 413))
            return None
        return self.rfile.read(length) if length else b""

    def _dispatch(self) -> None:
        app = self.server.app
        body = self._read_body()
        if body is None:
            return
        url = urlsplit(self.path)
        req = Request(
            self.command, url.path, parse_qs(url.query, keep_blank_values=True), self.headers, body
        )
        route, params, allowed = app.router.match(req.method, req.path, app)
        if route is None:
            if allowed:
                headers = {"Allow": ", ".join(sorted(set(allowed)))}
                self._send(json_response({"error": "Method Not Allowed"}, 405, headers))
            else:
                self._send(json_response({"error": "Not Found", "path": req.path}, 404))
            return
        req.params, req.route_name = params, route.name

        plan = Plan()
        if not route.control:
            app.counters.hit(f"{req.method} {route.name}")
            plan = app.faults.plan(req)
            if plan.latency:
                plan.release.wait(plan.latency)
            if plan.rule is not None and not plan.rule.after:
                self._fault(plan, plan.rule, route.name)
                return
        response = self._handle(route, req)
        if plan.rule is not None:  # an `after` fault: the work is done, the answer is lost
            self._fault(plan, plan.rule, route.name)
            return
        self._send(response)

    def _handle(self, route: Route, req: Request) -> Response:
        try:
            return route.handler(self.server.app, req)
        except ApiError as exc:
            return exc.response
        except Exception:
            traceback.print_exc(file=sys.stderr)
            return json_response({"error": "Internal sandbox error", "code": "SANDBOX_BUG"}, 500)

    def _fault(self, plan: Plan, rule: FaultRule, route_name: str) -> None:
        if rule.hang:
            # Hold the socket past any sane client timeout, then drop it without answering.
            plan.release.wait(rule.seconds)
            self.close_connection = True
            return
        headers = {}
        if rule.retry_after is not None:
            value = rule.retry_after
            headers["Retry-After"] = str(int(value)) if value == int(value) else str(value)
        if rule.malformed_json:
            self._send(Response(rule.status or 200, MALFORMED_BODY, "application/json", headers))
            return
        assert rule.status is not None
        body = rule.body if rule.body is not None else fault_body(route_name, rule.status)
        self._send(json_response(body, rule.status, headers))

    def _send(self, response: Response) -> None:
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            self.send_header("X-Request-ID", uuid.uuid4().hex)
            for name, value in response.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (its timeout fired during injected latency); nothing to tell it.
            self.close_connection = True


def local_url(host: str, port: int) -> str:
    shown = "127.0.0.1" if host in ("", "0.0.0.0", "::") else host  # noqa: S104
    shown = f"[{shown}]" if ":" in shown else shown
    return f"http://{shown}:{port}"


def make_server(settings: Settings) -> SandboxServer:
    server = SandboxServer((settings.host, settings.port), SandboxHandler)
    port = server.server_address[1]
    server.app = App(settings, settings.public_url or local_url(settings.host, port))
    return server
