"""The default broker (config/broker.py): whole messages only, unreadable ones set aside, and a
real worker that survives thousands of messages from several processes with none lost."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from kombu import Connection
from kombu.transport import filesystem

from tests.celery_fixture import ROOT, worker_process

MESSAGES = 2000
PRODUCERS = 4


def _connection(folder: Path, transport: object = "config.broker:Transport") -> Connection:
    for name in ("broker", "processed", "control"):
        (folder / name).mkdir(exist_ok=True)
    return Connection(
        "filesystem://",
        transport=transport,
        transport_options={
            "data_folder_in": str(folder / "broker"),
            "data_folder_out": str(folder / "broker"),
            "processed_folder": str(folder / "processed"),
            "control_folder": str(folder / "control"),
            "store_processed": False,
        },
    )


@pytest.fixture
def queue() -> str:
    """A queue name of the test's own: kombu remembers declared queues per process."""
    return f"q{uuid.uuid4().hex[:8]}"


def _message_name(queue: str, *, seconds_earlier: float = 0) -> str:
    """A name as the transports give message files (dated earlier: read before the others)."""
    stamp = time.monotonic_ns() - int(seconds_earlier * 1e9)
    return f"{stamp:020d}_{uuid.uuid4()}.{queue}.msg"


def _drop(folder: Path, content: bytes, queue: str) -> Path:
    """A message file as a writer without our rename would leave it, mid-write."""
    path = folder / "broker" / _message_name(queue, seconds_earlier=10)
    path.write_bytes(content)
    return path


def test_kombus_own_filesystem_transport_chokes_on_an_empty_message(tmp_path, queue):
    """Why config/broker.py exists: this is what killed the worker."""
    with _connection(tmp_path, filesystem.Transport) as conn:
        _drop(tmp_path, b"", queue)
        channel = conn.default_channel
        with pytest.raises(json.JSONDecodeError):
            channel._get(queue)


def test_messages_go_through_whole_and_in_order(tmp_path, queue):
    with _connection(tmp_path) as conn:
        simple = conn.SimpleQueue(queue)
        for number in range(3):
            simple.put({"number": number})
        received = [simple.get(timeout=1) for _ in range(3)]
        assert [m.payload for m in received] == [{"number": n} for n in range(3)]
        assert simple.qsize() == 0
    # Nothing is left half-way: no partial files, nothing taken but unread.
    assert list((tmp_path / "broker" / ".writing").iterdir()) == []
    assert [p for p in (tmp_path / "processed").iterdir() if p.is_file()] == []


def test_an_unreadable_message_is_set_aside_and_the_next_one_delivered(tmp_path, queue, caplog):
    with _connection(tmp_path) as conn:
        empty = _drop(tmp_path, b"", queue)
        half = _drop(tmp_path, b'{"body": "eyJ', queue)
        simple = conn.SimpleQueue(queue)
        simple.put({"number": 1})
        assert simple.get(timeout=1).payload == {"number": 1}
    aside = tmp_path / "processed" / "unreadable"
    assert sorted(p.name for p in aside.iterdir()) == sorted([empty.name, half.name])
    assert caplog.text.count("Skipped an unreadable broker message") == 2


def test_two_readers_never_get_the_same_message(tmp_path, queue):
    with _connection(tmp_path) as first, _connection(tmp_path) as second:
        sender = first.SimpleQueue(queue)
        for number in range(50):
            sender.put({"number": number})
        readers = [first.default_channel, second.default_channel]
        seen = []
        while True:
            got = False
            for channel in readers:
                try:
                    seen.append(channel._get(queue)["body"])
                    got = True
                except Exception:  # noqa: S112 (kombu's Empty)
                    continue
            if not got:
                break
    assert len(seen) == 50 == len(set(seen))


@pytest.mark.integration
def test_a_real_worker_survives_thousands_of_messages_from_several_processes(tmp_path):
    var = tmp_path / "var"
    log = tmp_path / "received.log"
    env = {
        "VAR_DIR": str(var),
        "CELERY_BROKER_URL": "filesystem://",
        "CELERY_RESULT_BACKEND": f"file://{var}/celery/results",
        "STRESS_LOG": str(log),
    }
    worker = worker_process(
        tmp_path / "worker.log", env, concurrency=2, include="tests.config.stress_tasks"
    )
    worker.start()
    try:
        per_producer = MESSAGES // PRODUCERS
        command = [sys.executable, "-m", "tests.config.stress_producer"]
        producers = [
            subprocess.Popen(
                [*command, str(i * per_producer), str(per_producer)],
                cwd=ROOT,
                env={**worker.environment(), **env},
            )
            for i in range(PRODUCERS)
        ]
        # Meanwhile, what killed kombu's own transport: an empty and a half-written file.
        broker = var / "celery" / "broker"
        for content in (b"", b'{"body": "eyJ'):
            time.sleep(0.5)
            (broker / _message_name("celery")).write_bytes(content)
        for producer in producers:
            assert producer.wait(120) == 0
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and _count(log) < MESSAGES:
            assert worker.alive, worker.output()
            time.sleep(0.5)
        time.sleep(1)  # anything delivered twice would show up now
        received = log.read_text().split()
        assert worker.alive, worker.output()
        assert sorted(map(int, received)) == list(range(MESSAGES))  # none lost, none twice
        worker_log = worker.log_path.read_text()
        assert worker_log.count("Skipped an unreadable broker message") == 2
        assert "Unrecoverable error" not in worker_log
    finally:
        worker.close()  # its own broker folder: nothing to clean up but the processes


def _count(log: Path) -> int:
    return log.read_text().count("\n") if log.exists() else 0
