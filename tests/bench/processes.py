"""Child processes for the pipeline benchmark: start one, wait for its ready line, stop it."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT = 60.0


class StartFailed(RuntimeError):
    pass


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def wait_for(self, pattern: str, timeout: float = READY_TIMEOUT) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(pattern, self.log_path.read_text(errors="replace"))
            if found:
                return found
            if self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise StartFailed(f"{self.name} did not start:\n{self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL the whole group at once, as when a machine dies."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM (a Celery worker finishes its task first), then SIGKILL the whole group."""
        if self.process.poll() is None:
            self.process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout)
        # Also takes a prefork pool child whose parent is already gone.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(5)


def start_child(name: str, args: list[str], *, env: dict[str, str], log_dir: Path) -> Child:
    """`python <args>` from the repository root, in its own process group, logging to a file."""
    log_path = log_dir / f"{name}.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, *args],
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Child(name, process, log_path)


def start_worker(name: str, *, env: dict[str, str], log_dir: Path, concurrency: int = 1) -> Child:
    worker = start_child(
        name,
        [
            "-m", "celery", "-A", "config", "worker", "--loglevel", "INFO",
            "--concurrency", str(concurrency), "--pool", "prefork",
            "--hostname", f"{name}-{os.getpid()}@%h",
            "--without-gossip", "--without-mingle", "--without-heartbeat",
        ],
        env=env,
        log_dir=log_dir,
    )  # fmt: skip
    try:
        worker.wait_for(r" ready\.")
    except StartFailed:
        worker.stop()
        raise
    return worker


def start_beat(*, env: dict[str, str], log_dir: Path) -> Child:
    """Celery beat as in the Procfile (it runs the jobs' recovery tick), its schedule in log_dir."""
    beat = start_child(
        "beat",
        ["-m", "celery", "-A", "config", "beat", "--loglevel", "INFO",
         "--schedule", str(log_dir / "beat-schedule")],
        env=env,
        log_dir=log_dir,
    )  # fmt: skip
    try:
        beat.wait_for(r"beat: Starting")
    except StartFailed:
        beat.stop()
        raise
    return beat


def start_web(
    *,
    env: dict[str, str],
    log_dir: Path,
    workers: int = 1,
    threads: int = 4,
    production: bool = False,
) -> tuple[Child, str]:
    """gunicorn as in the Procfile (`production`: as `make prod` runs it, with
    config/gunicorn.py), on a loopback port the OS picks; returns the child and its URL."""
    config = ["-c", "config/gunicorn.py"] if production else []
    web = start_child(
        "web",
        [
            "-m", "gunicorn", *config, "config.wsgi", "--bind", "127.0.0.1:0",
            "--workers", str(workers), "--threads", str(threads), "--no-control-socket",
        ],
        env=env,
        log_dir=log_dir,
    )  # fmt: skip
    try:
        url = web.wait_for(r"Listening at: (http://\S+)")[1]
        web.wait_for(r"Booting worker")
    except StartFailed:
        web.stop()
        raise
    return web, url
