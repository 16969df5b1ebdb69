"""Ctrl-C on `make run`: honcho sends SIGTERM to each process group and SIGKILLs what is still
running 5 s later. The worker on the default broker must be gone by then, on its own."""

from __future__ import annotations

import os
import signal
import subprocess

import pytest

from tests.celery_fixture import worker_process

pytestmark = pytest.mark.integration

HONCHO_GRACE_SECONDS = 5  # honcho's default before it SIGKILLs


def test_a_worker_on_the_default_broker_stops_before_honcho_would_kill_it(tmp_path):
    var = tmp_path / "var"
    worker = worker_process(
        tmp_path / "worker.log",
        {
            "VAR_DIR": str(var),
            "CELERY_BROKER_URL": "filesystem://",
            "CELERY_RESULT_BACKEND": f"file://{var / 'results'}",
        },
        concurrency=2,
    )
    worker.start()  # and stop it at once: the pool's children may still be starting
    process = worker.process
    assert process is not None
    try:
        os.killpg(process.pid, signal.SIGTERM)  # the group, pool children too, as honcho does
        try:
            process.wait(timeout=HONCHO_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            pytest.fail("the worker was still shutting down when honcho would have killed it")
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    log = worker.log_path.read_text()
    assert "Warm shutdown" in log
    assert "exited with 'signal" not in log  # the children were not killed from outside
