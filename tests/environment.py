"""Environment for the test run, loaded by pytest before Django starts (`-p tests.environment`).

Only defaults: anything set in the real environment (CI's DATABASE_URL, CELERY_BROKER_URL, …) wins.
"""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("ENV_FILE", "")  # ignore a developer's .env
os.environ.setdefault(
    "DEBUG", "true"
)  # dev-like settings; Django's test runner still runs with DEBUG off
os.environ.setdefault("SECRET_KEY", "tests-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")
os.environ.setdefault("CREDENTIAL_KEYS", "k6H8x9ryY2r3Bgx3BqY7z1xC2uG2pXJ6l0cE9w0hQ2M=")
# Apart from a running `make run` (its broker folders, media and cache live in var/).
os.environ.setdefault("VAR_DIR", str(Path(__file__).resolve().parents[1] / "var" / "test"))
os.environ.setdefault("CACHE_URL", "locmem://")
os.environ.setdefault("STATIC_STORAGE", "simple")
