"""A real Celery worker process for integration tests.

It consumes from the configured broker (Redis in CI, the filesystem broker locally) and writes to
the test database, so tests that use it must commit their data (transactional_db).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from config.celery import app as celery_app
from gallery.models import Job

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 60


def _test_database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{auth}@{db['HOST'] or 'localhost'}:{db['PORT'] or 5432}/{db['NAME']}"


class CeleryProcess:
    """`celery -A config <args>` in its own process group, logging to a file, pointed at the
    test database; `ready` is the log line that says it has started."""

    def __init__(
        self, log_path: Path, args: list[str], ready: bytes, env: dict[str, str] | None = None
    ) -> None:
        self.log_path = log_path
        self.args = args
        self.ready = ready
        self.extra_env = env or {}
        self.process: subprocess.Popen[bytes] | None = None

    def environment(self) -> dict[str, str]:
        env = {**os.environ, "DATABASE_URL": _test_database_url(), "ENV_FILE": "", **self.extra_env}
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        return env

    def start(self, *, wait: bool = True) -> None:
        """Start it and, with `wait`, return once its log says it is ready."""
        self.log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", *self.args],
            cwd=ROOT, env=self.environment(), stdin=subprocess.DEVNULL, stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so kill() takes the pool children too
        )  # fmt: skip
        if not wait:
            return
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.ready in self.log_path.read_bytes():
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.2)
        raise AssertionError(f"celery {self.args[0]} did not start:\n{self.output()}")

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]

    def kill(self) -> None:
        """SIGKILL the process and its pool, as when a machine dies: nothing acked or requeued."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def children(self) -> list[int]:
        assert self.process is not None
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()]

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(5)
        if self.process:  # a pool child whose parent is gone
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.log.close()


def worker_process(
    log_path: Path, env: dict[str, str] | None = None, *, concurrency: int = 1, include: str = ""
) -> CeleryProcess:
    args = [
        "worker", "--loglevel", "INFO", "--concurrency", str(concurrency), "--pool", "prefork",
        "--without-gossip", "--without-mingle", "--without-heartbeat",
        "--hostname", f"test-{os.getpid()}-{log_path.stem}@%h",
        *(["--include", include] if include else []),
    ]  # fmt: skip
    return CeleryProcess(log_path, args, b" ready.", env)


def beat_process(log_path: Path, env: dict[str, str] | None = None) -> CeleryProcess:
    schedule = log_path.with_suffix(".schedule")
    args = ["beat", "--loglevel", "INFO", "--schedule", str(schedule)]
    return CeleryProcess(log_path, args, b"beat: Starting", env)


def _worker_env(request: pytest.FixtureRequest) -> dict[str, str]:
    marker = request.node.get_closest_marker("worker_env")
    return {key: str(value) for key, value in (marker.kwargs if marker else {}).items()}


@pytest.fixture
def start_worker(transactional_db, tmp_path, request) -> Iterator[Callable[..., CeleryProcess]]:
    """Start workers during a test (e.g. after killing one), with the test's `worker_env` and
    any more variables given; all are stopped at the end."""
    started: list[CeleryProcess] = []

    def start(**env: str) -> CeleryProcess:
        log = tmp_path / f"worker-{len(started)}.log"
        worker = worker_process(log, {**_worker_env(request), **env})
        started.append(worker)
        worker.start()
        return worker

    yield start
    for worker in started:
        worker.stop()


@pytest.fixture
def celery_worker(start_worker) -> CeleryProcess:
    celery_app.control.purge()  # nothing left over from another run may reach this worker
    return start_worker()


@pytest.fixture
def start_beat(transactional_db, tmp_path, request) -> Iterator[Callable[..., CeleryProcess]]:
    """A real beat: it runs the recovery tick (reaper + dispatcher) on its schedule. Not waited
    for: it starts while the test goes on (its first tick is seconds away anyway)."""
    started: list[CeleryProcess] = []

    def start(**env: str) -> CeleryProcess:
        beat = beat_process(tmp_path / f"beat-{len(started)}.log", {**_worker_env(request), **env})
        started.append(beat)
        beat.start(wait=False)
        return beat

    yield start
    for beat in started:
        beat.stop()


@pytest.fixture
def celery_beat(start_beat) -> CeleryProcess:
    return start_beat()


@pytest.fixture
def generate(member_client, studio):
    """POST the generate form (as the member unless another client is given)."""
    keys = iter(range(1_000_000))

    def post(
        n: int = 1,
        key: str | None = None,
        prompt: str = "a lighthouse at dusk",
        client: Client | None = None,
    ):
        data = {
            "prompt": prompt,
            "model": "nano-banana-2",
            "n": str(n),
            "aspect_ratio": "1:1",
            "output_format": "png",
            "idempotency_key": key or f"k-{next(keys)}",
        }
        return (client or member_client).post(reverse("gallery:generate", args=[studio.slug]), data)

    return post


def finished(job: Job, worker: CeleryProcess | None, timeout: float = 60) -> Job:
    def done() -> bool:
        job.refresh_from_db()
        return not job.is_active

    wait_for(done, timeout=timeout, what=f"job {job.pk} to finish", worker=worker)
    return job


def wait_for(
    predicate, *, timeout: float = 30, what: str = "condition", worker: CeleryProcess | None = None
):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    detail = f"\nworker log:\n{worker.output()}" if worker else ""
    raise AssertionError(f"timed out after {timeout}s waiting for {what}{detail}")
