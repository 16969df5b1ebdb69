"""A sandbox whose port is taken says so in one line that names the port, and exits."""

from __future__ import annotations

import socket
import subprocess
import sys

from tests.sandbox_fixture import REPO_ROOT


def test_it_names_the_taken_port_in_one_line(tmp_path):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "sandbox", "--port", str(port), "--db", str(tmp_path / "s.db")],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"Darkroom sandbox cannot listen on 127.0.0.1:{port}: Address already in use — "
        "set SANDBOX_PORT (and SANDBOX_URL) to a free port"
    ]
