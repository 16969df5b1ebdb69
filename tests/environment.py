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
if "VAR_DIR" not in os.environ:
    os.environ["VAR_DIR"] = str(_session_dir)
    atexit.register(shutil.rmtree, _session_dir, ignore_errors=True)
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
