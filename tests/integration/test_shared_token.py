"""Many worker processes share one neuroflash token through the app's cache (Redis in CI)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_two_processes_with_many_threads_fetch_one_token(sandbox, tmp_path):
    go = tmp_path / "go"
    cache_url = os.environ.get("CACHE_URL", "")
    if not cache_url.startswith("redis"):
        cache_url = f"file://{tmp_path / 'cache'}"  # the zero-service default: a file cache
    env = {**os.environ, "CACHE_URL": cache_url}
    command = [
        sys.executable,
        "-m",
        "tests.integration.token_race_client",
        sandbox.url,
        str(go),
        "8",
    ]
    processes = [
        subprocess.Popen(command, cwd=ROOT, env=env, stderr=subprocess.PIPE) for _ in range(2)
    ]
    go.touch()
    for process in processes:
        _, stderr = process.communicate(timeout=60)
        assert process.returncode == 0, stderr.decode()

    assert sandbox.calls("GET nf.quotas") == 16
    assert sandbox.calls("POST nf.token") == 1


def test_a_token_expired_at_the_provider_is_refreshed_once(sandbox):
    from accounts.token_store import CacheTokenStore
    from providers import ProviderConfig, build_provider

    provider = build_provider(
        ProviderConfig(kind="sandbox", base_url=sandbox.url, token_store=CacheTokenStore())
    )
    provider.get_quota()
    sandbox.reset(revoke_tokens=True)  # the cached token is now refused with 401
    assert provider.get_quota().monthly_limit
    assert sandbox.calls("POST nf.token") == 1
