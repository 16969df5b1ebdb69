"""Environment for the test run, loaded by pytest before Django starts (`-p tests.environment`).

Only defaults: anything set in the real environment (CI's DATABASE_URL, CELERY_BROKER_URL, …) wins.
"""

from __future__ import annotations

import atexit
import os
import shutil
from pathlib import Path

os.environ.setdefault("ENV_FILE", "")  # ignore a developer's .env
# Dev-like settings (no HTTPS redirect); Django's test runner still runs with DEBUG off.
os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("SECRET_KEY", "tests-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
os.environ.setdefault("CREDENTIAL_KEYS", "k6H8x9ryY2r3Bgx3BqY7z1xC2uG2pXJ6l0cE9w0hQ2M=")
# Apart from a running `make run` (its broker folders, media and cache live in var/) and from
# any other test run on this machine: its own database file, broker folders and media.
_session_dir = Path(__file__).resolve().parents[1] / "var" / "test" / str(os.getpid())
# Under pytest-xdist (`make test` runs the unit tests on two processes) each worker is a session
# of its own: it inherits the controller's VAR_DIR, so it takes one of its own, and its own
# Redis databases (below).
_xdist_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if "VAR_DIR" not in os.environ or _xdist_worker:
    os.environ["VAR_DIR"] = str(_session_dir)
    atexit.register(shutil.rmtree, _session_dir, ignore_errors=True)
if _xdist_worker.removeprefix("gw").isdigit() and int(_xdist_worker.removeprefix("gw")) > 0:
    # gw1, gw2…: the broker, results and cache URLs' database numbers moved up by 3 per worker
    # (CI's 0, 1, 2 become 3, 4, 5 for gw1), so one worker's flush never empties another's.
    from urllib.parse import urlsplit, urlunsplit

    _shift = 3 * int(_xdist_worker.removeprefix("gw"))
    for _name in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "CACHE_URL"):
        _url = urlsplit(os.environ.get(_name, ""))
        if _url.scheme in {"redis", "rediss"}:
            _db = int(_url.path.strip("/") or 0) + _shift
            os.environ[_name] = urlunsplit(_url._replace(path=f"/{_db}"))
os.environ.setdefault("CACHE_URL", "locmem://")
# Test servers (the sandbox, hostile servers) listen on loopback at random ports.
os.environ.setdefault("PROVIDER_PRIVATE_HOSTS", "127.0.0.1,localhost")
os.environ.setdefault("STATIC_STORAGE", "simple")

# The German catalogue compiled (`make install` does it too; a bare `pytest` must not need make).
from config.translations import compile_all  # noqa: E402

compile_all(only_stale=True)

# `TEST_MEDIA_STORAGE=s3` (CI's main pass): media in a bucket on a local S3-protocol server for
# the whole session. Started here, before settings load, and passed on through the environment,
# so the Celery workers that tests start store into the same bucket.
if os.environ.get("TEST_MEDIA_STORAGE", "local") == "s3":
    from tests.s3server import start_s3_server, stop

    _s3, _s3_process = start_s3_server()
    atexit.register(stop, _s3_process)
    os.environ.update(_s3.environment())
elif os.environ.get("TEST_MEDIA_STORAGE", "local") != "local":
    raise SystemExit("TEST_MEDIA_STORAGE must be local or s3")
