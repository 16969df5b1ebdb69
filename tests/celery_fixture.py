"""pytest plugin: real Celery workers and beats as fixtures, and a broker left empty.

Loaded for the whole suite (`-p tests.celery_fixture` in pyproject's addopts). Then:

- `celery_worker` / `celery_beat` (function): one worker (or beat) for the test, started with the
  test's `worker_env` marker; `start_worker()` / `start_beat()` start more during a test (e.g.
  a replacement after `kill()`).
- After the test every process it started is SIGKILLed with its process group (pool children
  included): a warm shutdown costs ~6 s per test and proves nothing the tests ask. Then the
  broker is emptied: the queues purged and, on Redis, the messages the killed worker held
  unacknowledged (a countdown, a prefetched job) dropped, so nothing reaches the next test's
  worker, and nothing is redelivered in another run an hour later.
- Any other test that publishes a message (the web tier enqueues on commit and no worker reads
  it) gets its queues purged afterwards too.
- At the end of the session the broker must be empty (queues and, on Redis, unacked): anything
  left is a leak this plugin did not catch, and fails the run. One test run per broker database:
  two runs sharing one (e.g. two CI jobs on Redis db 0) purge each other's messages.

The workers consume from the configured broker (Redis in CI, the filesystem broker locally) and
write to the test database, so tests that use them must commit their data (transactional_db).
Tests that start a real worker or beat must be marked `integration` (collection stops with a
list of those that are not), so that `make test-fast` leaves them all out.
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
from typing import Any

import pytest
from kombu.exceptions import ChannelError

ROOT = Path(__file__).resolve().parents[1]
READY_TIMEOUT = 60
# Fixtures that start a real Celery process; a test using one is an integration test.
PROCESS_FIXTURES = frozenset({"celery_worker", "start_worker", "celery_beat", "start_beat"})


def _test_database_url() -> str:
    from django.db import connection

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
        if wait:
            self.wait_ready()

    def wait_ready(self) -> None:
        """Return once its log says it has started; fail with the log if it does not."""
        assert self.process is not None
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if self.ready in self.log_path.read_bytes():
                return
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"celery {self.args[0]} did not start:\n{self.output()}")

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]

    def kill(self) -> None:
        """SIGKILL the process and its pool, as when a machine dies: nothing acked or requeued."""
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def children(self) -> list[int]:
        assert self.process is not None
        path = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in path.read_text().split()]

    def close(self) -> None:
        """Kill whatever is left of it (all of it, if it still runs) and close its log. No warm
        shutdown: it costs ~6 s and proves nothing here; a test of shutdown would add one."""
        if self.process:  # also a pool child whose parent is gone
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        if hasattr(self, "log"):
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


# --- The broker ---------------------------------------------------------------------------------


def _celery_app() -> Any:
    from config.celery import app

    return app


def broker_leftovers() -> list[str]:
    """What is in the configured broker: messages waiting in its queues and, on Redis,
    messages delivered to a worker and never acknowledged. Empty means clean."""
    app = _celery_app()
    found = []
    with app.connection_for_write() as conn:
        channel = conn.default_channel
        for queue in app.amqp.queues:
            count = _size(channel, queue)
            if count:
                names = _task_names(channel, queue)
                found.append(f"{count} message(s) queued in {queue!r}: {names}")
        unacked = _unacked_keys(channel)
        if unacked:
            names = [_task_name(raw) for raw in channel.client.hvals(unacked[0])]
            if names:
                found.append(f"{len(names)} message(s) delivered and never acked: {names}")
    return found


def broker_clear() -> None:
    """Purge the queues and, on Redis, drop what killed workers held unacknowledged."""
    app = _celery_app()
    with app.connection_for_write() as conn:
        channel = conn.default_channel
        for queue in app.amqp.queues:
            channel.queue_purge(queue)
        unacked = _unacked_keys(channel)
        if unacked:
            channel.client.delete(*unacked)


def _size(channel: Any, queue: str) -> int:
    try:
        return int(channel.queue_declare(queue=queue, passive=True).message_count)
    except ChannelError:  # Redis: an empty queue is no key at all, so "not found"
        return 0


def _unacked_keys(channel: Any) -> list[str]:
    """Redis keeps each delivered, unacknowledged message under these keys until it is acked,
    or restored to its queue after the visibility timeout (config/settings.py): a message a
    killed worker held would reach a worker of a later run. Other transports keep nothing."""
    if not hasattr(channel, "unacked_key"):
        return []
    return [channel.unacked_key, channel.unacked_index_key, channel.unacked_mutex_key]


def _task_names(channel: Any, queue: str) -> list[str]:
    """The task names of the messages waiting in a queue (Redis or the filesystem broker)."""
    if hasattr(channel, "unacked_key"):
        keys = [channel._q_for_pri(queue, priority) for priority in channel.priority_steps]
        raws = [raw for key in keys for raw in channel.client.lrange(key, 0, -1)]
    elif hasattr(channel, "data_folder_in"):
        raws = [path.read_bytes() for path in Path(channel.data_folder_in).glob(f"*.{queue}.msg")]
    else:
        return []
    return [_task_name(raw) for raw in raws]


def _task_name(raw: bytes) -> str:
    from kombu.utils.json import loads

    message = loads(raw)
    if isinstance(message, list):  # an unacked entry: [message, exchange, routing key]
        message = message[0]
    return str(message.get("headers", {}).get("task", "?"))


# --- Fixtures -----------------------------------------------------------------------------------


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """`make test-fast` leaves out `-m integration`: a test that starts a real worker or beat
    without the marker would make it slow again, so it is refused."""
    unmarked = [
        item.nodeid
        for item in items
        if PROCESS_FIXTURES.intersection(getattr(item, "fixturenames", ()))
        and item.get_closest_marker("integration") is None
    ]
    if unmarked:
        raise pytest.UsageError(
            "these tests start a real Celery worker or beat; mark them "
            f"@pytest.mark.integration: {', '.join(unmarked)}"
        )


def _worker_env(request: pytest.FixtureRequest) -> dict[str, str]:
    marker = request.node.get_closest_marker("worker_env")
    return {key: str(value) for key, value in (marker.kwargs if marker else {}).items()}


@pytest.fixture
def celery_processes(transactional_db) -> Iterator[list[CeleryProcess]]:
    """Every worker and beat the test started; all killed after it, then the broker emptied.
    Killed before the test database is flushed (this fixture needs it, so it ends first): a
    worker still running would write into the next test's data."""
    started: list[CeleryProcess] = []
    yield started
    stop_processes(started)


def stop_processes(processes: list[CeleryProcess]) -> None:
    """Kill them all, then empty the broker of what they left (queued or held)."""
    for process in processes:
        process.close()
    broker_clear()


@pytest.fixture
def start_worker(celery_processes, tmp_path, request) -> Callable[..., CeleryProcess]:
    """Start workers during a test (e.g. after killing one), with the test's `worker_env` and
    any more variables given; `wait=False` starts several at once."""

    def start(*, wait: bool = True, **env: str) -> CeleryProcess:
        log = tmp_path / f"worker-{len(celery_processes)}.log"
        worker = worker_process(log, {**_worker_env(request), **env})
        celery_processes.append(worker)
        worker.start(wait=wait)  # without waiting, call `wait_ready()` before relying on it
        return worker

    return start


@pytest.fixture
def celery_worker(start_worker) -> CeleryProcess:
    return start_worker()


@pytest.fixture
def start_beat(celery_processes, tmp_path, request) -> Callable[..., CeleryProcess]:
    """A real beat: it runs the recovery tick (reaper + dispatcher) on its schedule. Not waited
    for: it starts while the test goes on (its first tick is seconds away anyway)."""

    def start(**env: str) -> CeleryProcess:
        log = tmp_path / f"beat-{len(celery_processes)}.log"
        beat = beat_process(log, {**_worker_env(request), **env})
        celery_processes.append(beat)
        beat.start(wait=False)
        return beat

    return start


@pytest.fixture
def celery_beat(start_beat) -> CeleryProcess:
    return start_beat()


@pytest.fixture(autouse=True)
def _purge_what_the_test_published() -> Iterator[None]:
    """A test that enqueued work no worker read (the web tier's on-commit enqueues in a
    transactional test) leaves its messages for the next test's worker: purge them."""
    from celery.signals import after_task_publish

    published: list[str] = []

    def record(sender: str | None = None, **kwargs: Any) -> None:
        published.append(str(sender))

    after_task_publish.connect(record, weak=False)
    try:
        yield
    finally:
        after_task_publish.disconnect(record)
    if published:
        broker_clear()


@pytest.fixture(scope="session", autouse=True)
def _broker_left_empty() -> Iterator[None]:
    """The run leaves the broker as it found it: empty. Anything left would be delivered to the
    next run's (or `make run`'s) worker, maybe hours later."""
    broker_clear()  # a crashed earlier run's leftovers must not reach this run's workers
    yield
    leftovers = broker_leftovers()
    assert not leftovers, f"the test run left messages in the broker: {leftovers}"
