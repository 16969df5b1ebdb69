"""pytest plugin: the sandbox provider server as fixtures.

Register with `pytest_plugins = ["tests.sandbox_fixture"]` in the root conftest. Then:

- `sandbox_server` (session): one `python -m sandbox` subprocess on a free port with a temp db.
- `sandbox` (function): the same handle after `reset()`, so each test starts from a fresh world.

Point a client at `sandbox.url` for every provider host (token issuer, app API, NanoGPT); the
demo credentials are on the handle. `start_sandbox()` starts an extra server, e.g. to restart on
the same db file.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

REPO_ROOT = Path(__file__).resolve().parents[1]
STARTUP_TIMEOUT = 20.0
# Far below the real 14399 s, yet above the ~60 s early-refresh margin a client keeps, so a
# client still caches its token; tests of expiry shorten it with `configure(token_ttl=...)`.
TEST_TOKEN_TTL = 300
_URL_LINE = re.compile(r"listening on (http://\S+)")


class SandboxError(AssertionError):
    """A control call failed; the message carries the sandbox's answer."""


@dataclass
class SandboxHandle:
    url: str
    db_path: Path
    process: subprocess.Popen[bytes]
    stdout_path: Path
    stderr_path: Path
    client_id: str = "sandbox-client"
    client_secret: str = "sandbox-secret"
    workspace_id: str = "sandbox-workspace"
    api_key: str = "sandbox-key"
    session: requests.Session = field(default_factory=requests.Session, repr=False)

    def __post_init__(self) -> None:
        self.session.trust_env = False  # never route 127.0.0.1 through a proxy from the env

    # -- base URLs, named after the real hosts they stand in for ------------------------------

    @property
    def token_url(self) -> str:
        """Stands in for https://id.neuroflash.com/oauth/v2/token."""
        return f"{self.url}/oauth/v2/token"

    @property
    def neuroflash_api_url(self) -> str:
        """Stands in for https://app.neuroflash.com/api."""
        return f"{self.url}/api"

    @property
    def nanogpt_url(self) -> str:
        """Stands in for https://nano-gpt.com (routes under /api/... and /v1/...)."""
        return self.url

    # -- control API --------------------------------------------------------------------------

    def control(self, method: str, name: str, payload: Any = None) -> dict[str, Any]:
        """Call `/_control/<name>`; every control answer is a JSON object."""
        response = self.session.request(
            method, f"{self.url}/_control/{name}", json=payload, timeout=30
        )
        if response.status_code != 200:
            raise SandboxError(
                f"{method} /_control/{name} -> {response.status_code}: {response.text}"
            )
        body: dict[str, Any] = response.json()
        return body

    def faults(self, *rules: dict[str, Any], **rule: Any) -> list[dict[str, Any]]:
        """Add one fault (`faults(status=429, count=2)`) or several (`faults({...}, {...})`)."""
        payload: Any = list(rules) if rules else rule
        if rules and rule:
            raise TypeError("pass either rule dicts or keyword arguments, not both")
        return list(self.control("POST", "faults", payload)["faults"])

    def clear_faults(self) -> None:
        self.control("DELETE", "faults")

    def counters(self) -> dict[str, Any]:
        return self.control("GET", "counters")

    def calls(self, key: str) -> int:
        """Calls of one route so far, e.g. `calls("POST ds.generate")`."""
        return int(self.counters()["calls"].get(key, 0))

    def reset(self, *, revoke_tokens: bool = False) -> None:
        self.control("POST", "reset", {"revoke_tokens": revoke_tokens})

    def seed_history(
        self,
        count: int,
        *,
        model: str | None = None,
        workspace_id: str | None = None,
        prompt: str | None = None,
    ) -> dict[str, Any]:
        payload: dict[str, Any] = {"count": count}
        for key, value in (("model", model), ("workspace_id", workspace_id), ("prompt", prompt)):
            if value is not None:
                payload[key] = value
        return self.control("POST", "seed-history", payload)

    def set_quota(self, **fields: Any) -> dict[str, Any]:
        """Keys: limit_monthly, limit_daily, used_monthly, used_daily, bonus, spillover,
        fair_use_limit_reached, daily_refreshed, balance (NanoGPT USD), workspace_id."""
        return self.control("POST", "quota", fields)

    def quota(self) -> dict[str, Any]:
        return self.control("GET", "quota")

    def configure(self, **settings: Any) -> dict[str, Any]:
        """Keys: history_shape ('list'|'items'), token_ttl, url_ttl, quota_status, force_b64."""
        return self.control("POST", "config", settings)

    def access_token(self) -> str:
        """A neuroflash access token for the demo client, fetched over the real token route."""
        response = self.session.post(
            self.token_url,
            data={
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "scope": "openid",
            },
            timeout=10,
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    # -- process ------------------------------------------------------------------------------

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int:
        """Signal the server and wait; returns its exit code."""
        self.session.close()
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout)
        return int(self.process.returncode)


def start_sandbox(
    db_path: Path,
    *,
    token_ttl: float = TEST_TOKEN_TTL,
    extra_args: Sequence[str] = (),
    env: dict[str, str] | None = None,
    log_dir: Path | None = None,
) -> SandboxHandle:
    """Start `python -m sandbox` on a free port and wait until it answers."""
    log_dir = log_dir or db_path.parent
    log_dir.mkdir(parents=True, exist_ok=True)
    stamp = f"{db_path.stem}-{time.monotonic_ns()}"
    stdout_path, stderr_path = log_dir / f"{stamp}.out", log_dir / f"{stamp}.err"
    command = [sys.executable, "-m", "sandbox", "--host", "127.0.0.1", "--port", "0"]
    command += ["--db", str(db_path), "--token-ttl", str(token_ttl), *extra_args]
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            stdout=out,
            stderr=err,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )

    deadline = time.monotonic() + STARTUP_TIMEOUT
    url = None
    while time.monotonic() < deadline and process.poll() is None:
        found = _URL_LINE.search(stdout_path.read_text(errors="replace"))
        if found:
            url = found[1]
            break
        time.sleep(0.05)
    handle = SandboxHandle(url or "", db_path, process, stdout_path, stderr_path)
    if url is not None:
        try:
            handle.control("GET", "health")
            return handle
        except (requests.RequestException, SandboxError):
            pass
    handle.stop(signal.SIGKILL)
    pytest.fail(
        f"sandbox did not start ({' '.join(command)}), exit code {process.returncode}\n"
        f"--- stdout ---\n{stdout_path.read_text(errors='replace')}\n"
        f"--- stderr ---\n{handle.stderr()}",
        pytrace=False,
    )


@pytest.fixture(scope="session")
def sandbox_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxHandle]:
    handle = start_sandbox(tmp_path_factory.mktemp("sandbox") / "sandbox.sqlite3")
    yield handle
    handle.stop()


@pytest.fixture
def sandbox(sandbox_server: SandboxHandle) -> SandboxHandle:
    sandbox_server.reset()
    return sandbox_server
