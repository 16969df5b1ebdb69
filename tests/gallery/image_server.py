"""A tiny real HTTP server that hands out images the way a provider's file host would.

Each path answers with a scripted ``Route``: a status, a body sent with a Content-Length or
chunked (none given), optional stalls, extra headers. Every request is recorded in ``seen``.
"""

from __future__ import annotations

import contextlib
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Route:
    status: int = 200
    body: bytes = b""
    content_type: str | None = "image/png"
    headers: dict[str, str] = field(default_factory=dict)
    # Chunked transfer encoding: no Content-Length, the body goes out in pieces.
    chunked: bool = False
    chunk_size: int = 16 * 1024
    # Seconds to sleep before the status line / before the body.
    delay_headers: float = 0.0
    delay_body: float = 0.0


class ImageServer:
    def __init__(self) -> None:
        self.routes: dict[str, Route] = {}
        self.seen: list[str] = []  # request paths, query included
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def do_GET(self) -> None:
                server.seen.append(self.path)
                route = server.routes.get(self.path.partition("?")[0])
                if route is None:
                    route = Route(404, b"not found", content_type="text/plain")
                # The client may give up half way (size and timeout tests).
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._answer(route)

            def _answer(self, route: Route) -> None:
                time.sleep(route.delay_headers)
                self.send_response(route.status)
                if route.content_type:
                    self.send_header("Content-Type", route.content_type)
                for name, value in route.headers.items():
                    self.send_header(name, value)
                if route.chunked:
                    self.send_header("Transfer-Encoding", "chunked")
                elif "Content-Length" not in route.headers:
                    self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                self.wfile.flush()
                time.sleep(route.delay_body)
                if not route.chunked:
                    self.wfile.write(route.body)
                    return
                for start in range(0, len(route.body), route.chunk_size):
                    piece = route.body[start : start + route.chunk_size]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                self.wfile.write(b"0\r\n\r\n")

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        # Do not wait for handlers still sleeping in a timeout test when shutting down.
        self._httpd.block_on_close = False
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self._httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return f"http://{self.host}{path}"

    def serve(self, path: str, route: Route) -> str:
        """Answer ``path`` with ``route``; returns its full URL."""
        self.routes[path] = route
        return self.url(path)

    def start(self) -> ImageServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
