"""The sandbox as a process: startup, configuration, clean shutdown, state across a restart."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import requests

from tests.sandbox.conftest import DS, DS_IG, decode
from tests.sandbox_fixture import REPO_ROOT, SandboxHandle, start_sandbox


@pytest.fixture
def started(tmp_path):
    handles: list[SandboxHandle] = []

    def start(**kwargs) -> SandboxHandle:
        handle = start_sandbox(tmp_path / "db" / "sandbox.sqlite3", log_dir=tmp_path, **kwargs)
        handles.append(handle)
        return handle

    yield start
    for handle in handles:
        handle.stop()


def _headers(handle: SandboxHandle) -> dict[str, str]:
    return {
        "Authorization": f"Bearer {handle.access_token()}",
        "x-workspace-id": handle.workspace_id,
    }


def test_it_prints_one_startup_line_with_its_url(started):
    handle = started()

    lines = handle.stdout_path.read_text().splitlines()

    assert lines == [f"Darkroom sandbox listening on {handle.url} (db {handle.db_path})"]


def test_it_creates_the_db_parent_folder(started, tmp_path):
    handle = started()

    assert handle.db_path.exists()
    assert handle.db_path.parent == tmp_path / "db"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_it_exits_cleanly_on_a_signal(started, sig):
    handle = started()

    assert handle.stop(sig) == 0
    assert "Traceback" not in handle.stderr()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_it_exits_cleanly_on_a_signal_its_parent_ignored(started, sig):
    # A background launch (`cmd &` in a script, nohup) starts children with SIGINT ignored, and
    # an ignored signal stays ignored across exec: the sandbox must install its own handlers.
    with _ignored(signal.SIGINT), _ignored(signal.SIGTERM):
        handle = started()

    assert handle.stop(sig, timeout=5) == 0
    assert "Darkroom sandbox stopped" in handle.stderr()
    assert "Traceback" not in handle.stderr()


@contextmanager
def _ignored(sig: signal.Signals) -> Iterator[None]:
    """Ignore a signal in this process (and so in the children it starts) for a while."""
    previous = signal.signal(sig, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(sig, previous)


def test_it_reads_its_settings_from_the_environment(started):
    handle = started(
        env={
            "SANDBOX_CLIENT_ID": "env-client",
            "SANDBOX_PUBLIC_URL": "https://sandbox.example.test",
            "SANDBOX_API_KEY": "env-key",
        }
    )
    handle.client_id = "env-client"

    token = handle.access_token()
    generated = requests.post(
        f"{handle.url}/v1/images/generations",
        headers={"Authorization": "Bearer env-key"},
        json={"prompt": "x", "response_format": "url"},
        timeout=10,
    )

    assert token
    assert generated.json()["data"][0]["url"].startswith("https://sandbox.example.test/files/")
    assert "public URL https://sandbox.example.test" in handle.stdout_path.read_text()


def test_it_lets_flags_win_over_the_environment(started):
    handle = started(env={"SANDBOX_TOKEN_TTL": "77"}, token_ttl=55)

    response = requests.post(
        handle.token_url,
        data={
            "grant_type": "client_credentials",
            "client_id": handle.client_id,
            "client_secret": handle.client_secret,
            "scope": "openid",
        },
        timeout=10,
    )

    assert response.json()["expires_in"] == 55


def test_it_refuses_a_bad_setting_loudly():
    result = subprocess.run(
        [sys.executable, "-m", "sandbox", "--port", "not-a-port"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )

    assert result.returncode == 2
    assert "--port" in result.stderr


def test_it_keeps_history_quota_balance_and_tokens_across_a_restart(started):
    first = started()
    headers = _headers(first)
    generated = requests.post(
        f"{first.url}{DS_IG}/",
        headers=headers,
        json={"prompt": "persist me", "num_images": 2, "seed": 5},
        timeout=10,
    ).json()
    first.seed_history(3)
    requests.post(
        f"{first.url}/v1/images/generations",
        headers={"Authorization": f"Bearer {first.api_key}"},
        json={"prompt": "x", "model": "recraft-v3"},
        timeout=10,
    )
    image_id = generated["images"][0]["image_id"]
    before = requests.get(f"{first.url}{DS_IG}/{image_id}/view", headers=headers, timeout=10)
    assert first.stop() == 0

    second = started()
    history = requests.get(f"{second.url}{DS}/history", headers=headers, timeout=10)
    after = requests.get(f"{second.url}{DS_IG}/{image_id}/view", headers=headers, timeout=10)
    quota = second.quota()

    assert history.status_code == 200  # the token issued before the restart still works
    assert len(history.json()) == 5
    assert after.content == before.content
    assert decode(after.content).size == (1024, 1024)
    assert quota["quota"]["usedAmount"] == 2
    assert quota["balance"] == "24.96000000"


def test_it_keeps_signed_urls_valid_across_a_restart(started):
    first = started()
    [item] = requests.post(
        f"{first.url}/v1/images/generations",
        headers={"Authorization": f"Bearer {first.api_key}"},
        json={"prompt": "x", "response_format": "url"},
        timeout=10,
    ).json()["data"]
    first.stop()

    second = started()
    response = requests.get(item["url"].replace(first.url, second.url), timeout=10)

    assert response.status_code == 200
