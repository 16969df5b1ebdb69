"""`make prod`: the settings it refuses to start without, the gunicorn sizing README describes,
the processes Procfile.prod starts, and gunicorn really serving with that configuration."""

from __future__ import annotations

import contextlib
import json
import os
import re
import runpy
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from config.prodcheck import problems
from tests.celery_fixture import _test_database_url

ROOT = Path(__file__).resolve().parents[1]
KEY = "k6H8x9ryY2r3Bgx3BqY7z1xC2uG2pXJ6l0cE9w0hQ2M="
PRODUCTION = {
    "SECRET_KEY": "x7Qm2vL9pR4tY8wZ1cF6hJ3kN5bD0gS-aE_uI7oP2qW9rT4yU6iO8pA1sD3fG5hJ",
    "ALLOWED_HOSTS": "127.0.0.1",
    "CREDENTIAL_KEYS": KEY,
}


def _procfile(name: str) -> dict[str, str]:
    lines = (line.partition(":") for line in (ROOT / name).read_text().splitlines() if line)
    return {process.strip(): command.strip() for process, _, command in lines}


def test_it_names_every_missing_setting_and_starts_nothing(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("DEBUG=true\n")
    env = {k: v for k, v in os.environ.items() if k not in {*PRODUCTION, "DEBUG"}}
    result = subprocess.run(
        [sys.executable, "-m", "config.prodcheck"],
        cwd=ROOT, env={**env, "ENV_FILE": str(env_file)}, capture_output=True, text=True,
        timeout=30,
    )  # fmt: skip
    assert result.returncode == 1
    assert f"Production cannot start. Set these in the environment or {env_file}:" in (
        result.stderr
    )
    for name in PRODUCTION:
        assert f"  - {name} is not set: " in result.stderr
    assert "DEBUG is true in .env: production runs with DEBUG=false" in result.stderr


def test_it_takes_settings_from_the_environment_or_the_env_file():
    assert problems(PRODUCTION, {}) == []
    assert problems({}, PRODUCTION) == []
    assert problems({**PRODUCTION, "SECRET_KEY": " "}, {})[0].startswith("SECRET_KEY is not set")


def test_it_refuses_the_plain_http_settings_make_run_left_in_the_env_file():
    from config.initenv import LOCAL_HTTP

    found = problems(PRODUCTION, {"DEBUG": "false", **LOCAL_HTTP})
    assert [problem.split()[0] for problem in found] == list(LOCAL_HTTP)
    assert "`make run` writes that for plain HTTP" in found[0]
    # Said in the environment (README's local trial), they are meant.
    assert problems({**PRODUCTION, **LOCAL_HTTP}, dict(LOCAL_HTTP)) == []
    # DEBUG=true in .env matters only where DEBUG is not exported (make prod exports false).
    assert problems({**PRODUCTION, "DEBUG": "false"}, {"DEBUG": "true"}) == []


def test_media_in_a_bucket_needs_the_bucket():
    assert problems({**PRODUCTION, "MEDIA_STORAGE": "s3"}, {}) == [
        "S3_BUCKET is not set: the bucket for media, as MEDIA_STORAGE is s3."
    ]
    assert problems({**PRODUCTION, "MEDIA_STORAGE": "s3"}, {"S3_BUCKET": "media"}) == []


def _gunicorn_settings(monkeypatch, **env: str) -> dict[str, object]:
    for name in ("WEB_CONCURRENCY", "WEB_THREADS", "WEB_HOST", "WEB_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ENV_FILE", "")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(ROOT / "config" / "gunicorn.py"))


def test_gunicorn_runs_two_processes_per_core_plus_one_capped(monkeypatch):
    monkeypatch.setattr("multiprocessing.cpu_count", lambda: 2)
    assert _gunicorn_settings(monkeypatch)["workers"] == 5
    monkeypatch.setattr("multiprocessing.cpu_count", lambda: 64)
    assert _gunicorn_settings(monkeypatch)["workers"] == 12
    sized = _gunicorn_settings(monkeypatch, WEB_CONCURRENCY="3", WEB_THREADS="8")
    assert (sized["workers"], sized["threads"], sized["worker_class"]) == (3, 8, "gthread")
    assert sized["bind"] == "127.0.0.1:8000"


def test_procfile_prod_starts_gunicorn_the_worker_and_beat_and_readme_says_so():
    processes = _procfile("Procfile.prod")
    assert processes == {
        "web": "gunicorn -c config/gunicorn.py config.wsgi",
        "worker": "celery -A config --quiet worker --loglevel INFO "
        "--concurrency ${WORKER_CONCURRENCY:-4} --without-gossip --without-mingle",
        "beat": "celery -A config --quiet beat --loglevel INFO",
    }
    readme = (ROOT / "README.md").read_text()
    assert "make prod" in readme
    for name, command in processes.items():
        short = re.sub(r" --(quiet|loglevel INFO|without-gossip|without-mingle)", "", command)
        assert f"| `{name}` | `{short}` |" in readme, short
    makefile = (ROOT / "Makefile").read_text()
    assert "prod: export DEBUG = false" in makefile
    assert "$(UV) run python -m config.processes Procfile.prod" in makefile


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def production_env(tmp_path, django_db_setup) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return {
        **env, **PRODUCTION, "DEBUG": "false", "ENV_FILE": "", "VAR_DIR": str(tmp_path / "var"),
        # The test database (its tables migrated), not the one DATABASE_URL names.
        "DATABASE_URL": _test_database_url(),
        "WEB_PORT": str(_free_port()), "WEB_CONCURRENCY": "1", "WEB_THREADS": "2",
        "BEHIND_TLS_PROXY": "true",
    }  # fmt: skip


def test_gunicorn_serves_health_checks_and_static_files_with_the_production_configuration(
    production_env, tmp_path
):
    collected = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT, env=production_env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert collected.returncode == 0, collected.stderr
    with _gunicorn(production_env, tmp_path) as base:
        health = urllib.request.urlopen(f"{base}/healthz", timeout=2)
        assert (health.status, health.read()) == (200, b"ok")
        ready = urllib.request.urlopen(f"{base}/readyz", timeout=10)  # plain HTTP, too
        assert json.loads(ready.read())["status"] == "ok"
        # Everything else is HTTPS only: what the TLS proxy forwards is served.
        request = urllib.request.Request(f"{base}/static/css/app.css")
        request.add_header("X-Forwarded-Proto", "https")
        request.add_header("X-Request-ID", "probe-1")
        static = urllib.request.urlopen(request, timeout=5)
        assert static.status == 200
        assert b".topbar" in static.read()
        assert static.headers["X-Request-ID"] == "probe-1"
        with pytest.raises(urllib.error.HTTPError) as plain:
            urllib.request.build_opener(_NoRedirect).open(f"{base}/account/login/", timeout=5)
        assert plain.value.code == 301
        assert plain.value.headers["Location"].startswith("https://")
    access = (tmp_path / "gunicorn.log").read_text()
    assert '"GET /static/css/app.css HTTP/1.1" 200' in access
    assert "request=probe-1" in access


@contextlib.contextmanager
def _gunicorn(env: dict[str, str], tmp_path: Path) -> Iterator[str]:
    """gunicorn as Procfile.prod starts it, answering /healthz; its output in gunicorn.log."""
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        base = f"http://127.0.0.1:{env['WEB_PORT']}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    urllib.request.urlopen(f"{base}/healthz", timeout=2)
                    break
                except OSError:
                    assert server.poll() is None, log_path.read_text()
                    assert time.monotonic() < deadline, "gunicorn did not answer"
                    time.sleep(0.2)
            yield base
        finally:
            server.terminate()
            server.wait(timeout=30)


def test_with_json_logs_every_line_gunicorn_writes_is_a_json_object(production_env, tmp_path):
    env = {**production_env, "LOG_FORMAT": "json", "SITE_URL": "https://darkroom.example.com"}
    with _gunicorn(env, tmp_path) as base:
        request = urllib.request.Request(f"{base}/account/login/")
        request.add_header("X-Request-ID", "probe-2")
        with pytest.raises(urllib.error.HTTPError) as redirect:  # to HTTPS
            urllib.request.build_opener(_NoRedirect).open(request, timeout=5)
        assert redirect.value.code == 301
    lines = (tmp_path / "gunicorn.log").read_text().splitlines()
    entries = [json.loads(line) for line in lines]  # fails on any plain-text line
    assert {"gunicorn.error", "gunicorn.access"} <= {entry["logger"] for entry in entries}
    access = [e for e in entries if e["logger"] == "gunicorn.access" and e.get("request_id")]
    assert {
        "method": "GET", "path": "/account/login/", "status": "301", "request_id": "probe-2"
    }.items() <= access[-1].items()  # fmt: skip
    assert any(
        "Darkroom is serving at http://127.0.0.1:" in entry["message"]
        and "https://darkroom.example.com" in entry["message"]
        for entry in entries
    )


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None
