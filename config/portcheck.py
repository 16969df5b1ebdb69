"""Before `make run` starts anything: are the ports it will listen on free?

Otherwise the banner would print a URL and a login for a server that never starts, gunicorn
would fail five times and the sandbox would stop with a traceback. Reads the same values as the
Procfile (the environment, then .env, then the defaults).
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Mapping
from pathlib import Path

from dotenv import dotenv_values

ENV_FILE = Path(__file__).resolve().parent.parent / ".env"
# (host variable, port variable, default host, default port, what listens there)
LISTENERS = (
    ("WEB_HOST", "WEB_PORT", "127.0.0.1", "8000", "Darkroom"),
    ("SANDBOX_HOST", "SANDBOX_PORT", "127.0.0.1", "8765", "the sandbox"),
)


def port_in_use(host: str, port: int) -> bool:
    """Whether binding host:port fails because something already listens there."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        # As gunicorn and the sandbox do: a port lingering in TIME_WAIT is not "in use".
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


def problems(values: Mapping[str, str | None]) -> list[str]:
    found = []
    for host_var, port_var, default_host, default_port, who in LISTENERS:
        host = values.get(host_var) or default_host
        raw = values.get(port_var) or default_port
        try:
            port = int(raw)
        except ValueError:
            found.append(f"{port_var}={raw!r} is not a port number")
            continue
        if port and port_in_use(host, port):
            found.append(
                f"port {port} is in use — set {port_var} (in .env) to a free one for {who}"
            )
    return found


def main() -> int:
    values = {**dotenv_values(ENV_FILE), **os.environ} if ENV_FILE.exists() else dict(os.environ)
    found = problems(values)
    for problem in found:
        print(problem, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
