"""A webhook receiver on loopback: records every POST (headers and raw body) and answers each
with the next scripted status (200 once the script runs out)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str = ""
    script: list[int] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)  # sent with every answer

    def answer(self, *statuses: int) -> None:
        self.script.extend(statuses)


@pytest.fixture
def receiver(settings) -> Iterator[Receiver]:
    """The receiver, allowed through the SSRF guard as the operator would allow it
    (WEBHOOK_PRIVATE_HOSTS), the way the tests allow the sandbox."""
    state = Receiver()
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with lock:
                state.received.append(Received(self.path, dict(self.headers.items()), body))
                status = state.script.pop(0) if state.script else 200
            self.send_response(status)
            for name, value in state.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02})
    thread.daemon = True
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/darkroom"
    settings.WEBHOOK_PRIVATE_HOSTS = [state.url]
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
