"""`python -m sandbox`: run the local provider server until SIGINT or SIGTERM."""

from __future__ import annotations

import signal
import sys
from collections.abc import Sequence
from types import FrameType

from sandbox.server import local_url, make_server
from sandbox.settings import parse_settings


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # Turn SIGTERM into the same unwinding as Ctrl-C, so both close the db cleanly.
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    settings = parse_settings(argv)
    try:
        server = make_server(settings)
    except OSError as exc:
        # One line that names the port, not a traceback (e.g. another sandbox still running).
        print(
            f"Darkroom sandbox cannot listen on {settings.host}:{settings.port}: "
            f"{exc.strerror or exc} — set SANDBOX_PORT (and SANDBOX_URL) to a free port",
            file=sys.stderr,
        )
        return 1
    app = server.app
    # Both set here, not inherited: a background launch (`&` in a script, nohup) starts us with
    # SIGINT ignored, and Python then leaves it ignored, so Ctrl-C or `kill -INT` would do nothing.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    url = local_url(settings.host, server.server_address[1])
    public = f", public URL {app.public_url}" if app.public_url != url else ""
    print(f"Darkroom sandbox listening on {url} (db {settings.db}{public})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        server.server_close()
        app.close()
        print("Darkroom sandbox stopped", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
