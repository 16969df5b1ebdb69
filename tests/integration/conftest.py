"""Helpers for tests with real processes (the worker and beat fixtures are in
tests/celery_fixture.py): submit through the web tier, wait for a job to finish, a real web
server (gunicorn), a Redis server of the test's own."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse

from accounts.models import User
from gallery.models import Job
from tests.celery_fixture import ROOT, CeleryProcess, _test_database_url


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


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- A real web server --------------------------------------------------------------------------


class WebProcess:
    """gunicorn serving Darkroom on the test database, as the Procfile runs it; logs to a file."""

    def __init__(self, log_path: Path, env: dict[str, str], *, workers: int, threads: int) -> None:
        self.log_path = log_path
        port = _free_port()
        self.url = f"http://127.0.0.1:{port}"
        with log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}",
                 "--workers", str(workers), "--threads", str(threads), "--no-control-socket"],
                cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def wait_ready(self) -> None:
        """Return once it answers. Booting can take a while on a busy machine."""
        deadline = time.monotonic() + 90
        while True:
            try:
                requests.get(f"{self.url}/healthz", timeout=10)
                return
            except requests.RequestException:
                log = self.log_path.read_text()
                assert self.process.poll() is None, log
                assert time.monotonic() < deadline, f"gunicorn did not answer:\n{log}"
                time.sleep(0.2)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(15)


@pytest.fixture
def start_web(transactional_db, tmp_path) -> Iterator[Callable[..., WebProcess]]:
    """Start web servers during a test, with any more variables given; each answers before
    `start` returns unless `wait=False` (then call `wait_ready()`). Stopped after the test."""
    started: list[WebProcess] = []

    def start(*, workers: int = 2, threads: int = 8, wait: bool = True, **extra: str) -> WebProcess:
        env = {**os.environ, "DATABASE_URL": _test_database_url(), "ENV_FILE": "", **extra}
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        log_path = tmp_path / f"gunicorn-{len(started)}.log"
        web = WebProcess(log_path, env, workers=workers, threads=threads)
        started.append(web)
        if wait:
            web.wait_ready()
        return web

    yield start
    for web in started:
        web.stop()


def login_session(client_for, user: User) -> requests.Session:
    """A `requests` session carrying `user`'s login: a session row in the test database, which
    every web process finds."""
    client = client_for(user)
    session = requests.Session()
    session.trust_env = False  # never through a proxy from the environment
    name = django_settings.SESSION_COOKIE_NAME
    session.cookies.set(name, client.cookies[name].value)
    return session


def logged_in_session(client_for, user: User, url: str) -> tuple[requests.Session, str]:
    """A `requests` session carrying `user`'s login, and the CSRF token of the form on the
    page at `url`."""
    session = login_session(client_for, user)
    page = session.get(url, timeout=30)
    page.raise_for_status()
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert found, f"the page at {url} has no CSRF token"
    return session, found[1]


# --- A Redis server of the test's own -----------------------------------------------------------


class PrivateRedis:
    """A Redis server of this test's own, on a free port, started and stopped at will."""

    def __init__(self, binary: str, folder: Path) -> None:
        self.binary, self.folder = binary, folder
        self.port = _free_port()
        self.url = self.database(0)
        self.process: subprocess.Popen[bytes] | None = None

    def database(self, number: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{number}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise AssertionError("the private Redis did not start")

    def stop(self) -> None:
        if self.process:
            self.process.terminate()
            self.process.wait(10)


@pytest.fixture
def private_redis(tmp_path) -> Iterator[PrivateRedis]:
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not os.path.exists(binary):
        if os.environ.get("CI") == "true":
            pytest.fail("redis-server is needed for the tests with a Redis of their own")
        pytest.skip("redis-server is not installed")
    server = PrivateRedis(binary, tmp_path)
    yield server
    server.stop()
