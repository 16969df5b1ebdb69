"""A real Celery worker process for integration tests.

It consumes from the configured broker (Redis in CI, the filesystem broker locally) and writes to
the test database, so tests that use it must commit their data (transactional_db).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection

from config.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 60


def _test_database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "worker_env(**variables): environment variables for the test's Celery worker"
    )


class Worker:
    def __init__(self, log_path: Path, env: dict[str, str] | None = None) -> None:
        self.log_path = log_path
        self.extra_env = env or {}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "DATABASE_URL": _test_database_url(), "ENV_FILE": "", **self.extra_env}
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        self.log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "celery", "-A", "config", "worker",
                "--loglevel", "INFO", "--concurrency", "1", "--pool", "prefork",
                "--without-gossip", "--without-mingle", "--without-heartbeat",
                "--hostname", f"test-{os.getpid()}@%h",
            ],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so kill() takes the pool children too
        )  # fmt: skip
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if b" ready." in self.log_path.read_bytes():
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f"Celery worker did not start:\n{self.output()}")

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]

    def kill(self) -> None:
        """SIGKILL the worker and its pool, as when a machine dies: nothing acked or requeued."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        self.log.close()


@pytest.fixture
def celery_worker(transactional_db, tmp_path, request) -> Iterator[Worker]:
    celery_app.control.purge()  # nothing left over from another run may reach this worker
    marker = request.node.get_closest_marker("worker_env")
    env = {key: str(value) for key, value in (marker.kwargs if marker else {}).items()}
    worker = Worker(tmp_path / "worker.log", env)
    worker.start()
    yield worker
    worker.stop()


@pytest.fixture
def start_worker(transactional_db, tmp_path, request) -> Iterator[object]:
    """Start more workers during a test (e.g. after killing one); all are stopped at the end."""
    started: list[Worker] = []
    marker = request.node.get_closest_marker("worker_env")
    env = {key: str(value) for key, value in (marker.kwargs if marker else {}).items()}

    def start() -> Worker:
        worker = Worker(tmp_path / f"worker-{len(started)}.log", env)
        worker.start()
        started.append(worker)
        return worker

    yield start
    for worker in started:
        worker.stop()


def wait_for(
    predicate, *, timeout: float = 30, what: str = "condition", worker: Worker | None = None
):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    detail = f"\nworker log:\n{worker.output()}" if worker else ""
    raise AssertionError(f"timed out after {timeout}s waiting for {what}{detail}")
