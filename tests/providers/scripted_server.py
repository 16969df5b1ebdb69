"""A tiny real HTTP server for client tests: each route answers with scripted replies.

It runs on 127.0.0.1 with an OS-chosen port, speaks HTTP/1.1 keep-alive (so the clients'
pooled connections are exercised), and records every request it saw. Replies for a route are
consumed in order and the last one repeats; a reply may also be a function of the request.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, parse_qsl

_NO_JSON = object()


@dataclass
class Reply:
    status: int = 200
    json: Any = _NO_JSON
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    def encoded(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        if self.json is not _NO_JSON:
            headers.setdefault("Content-Type", "application/json")
            return json.dumps(self.json).encode(), headers
        body = self.body.encode() if isinstance(self.body, str) else self.body
        if body:
            headers.setdefault("Content-Type", "text/plain")
        return body, headers


@dataclass
class Seen:
    method: str
    path: str  # raw, still percent-encoded, without the query
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-cased names
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode()))

    def param(self, name: str) -> str | None:
        values = self.query.get(name)
        return values[0] if values else None


Responder = Reply | Callable[[Seen], Reply]


class _Server(ThreadingHTTPServer):
    # The default backlog of 5 drops connections when a test opens 16 at once.
    request_queue_size = 128


class ScriptedServer:
    def __init__(self) -> None:
        self._routes: dict[tuple[str, str], list[Responder]] = {}
        self._lock = threading.Lock()
        self.seen: list[Seen] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes; without this, Nagle plus delayed
            # ACKs add ~40 ms to every keep-alive request.
            disable_nagle_algorithm = True

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                path, _, query = self.path.partition("?")
                seen = Seen(
                    method=self.command,
                    path=path,
                    query=parse_qs(query, keep_blank_values=True),
                    headers={k.lower(): v for k, v in self.headers.items()},
                    body=body,
                )
                reply = server._reply_for(seen)
                if reply.delay:
                    time.sleep(reply.delay)
                payload, headers = reply.encoded()
                try:
                    self.send_response(reply.status)
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout tests)

            do_GET = do_POST = do_DELETE = do_PUT = do_PATCH = do_HEAD = _handle

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._httpd = _Server(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        # Do not wait for handlers still sleeping in a timeout test when shutting down.
        self._httpd.block_on_close = False
        # A short poll interval keeps shutdown (and so each test's teardown) fast.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        port = self._httpd.server_address[1]
        return f"http://127.0.0.1:{port}"

    def start(self) -> ScriptedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def on(self, method: str, path: str, *replies: Responder) -> None:
        """Script ``method path``: replies in order, the last one repeating."""
        with self._lock:
            self._routes[(method.upper(), path)] = list(replies) or [Reply()]

    def calls(self, method: str | None = None, path: str | None = None) -> list[Seen]:
        with self._lock:
            return [
                s
                for s in self.seen
                if (method is None or s.method == method) and (path is None or s.path == path)
            ]

    def count(self, method: str | None = None, path: str | None = None) -> int:
        return len(self.calls(method, path))

    def _reply_for(self, seen: Seen) -> Reply:
        with self._lock:
            self.seen.append(seen)
            queue = self._routes.get((seen.method, seen.path))
            if not queue:
                return Reply(
                    404, json={"error": f"no scripted route for {seen.method} {seen.path}"}
                )
            responder = queue.pop(0) if len(queue) > 1 else queue[0]
        return responder(seen) if callable(responder) else responder
