"""Create or complete `.env` with fresh secrets for a local install (used by `make run`).

A value already set is never replaced, so a second `make run` keeps the keys that encrypted the
stored credentials; an empty one is filled in, and a missing one (also one that is only there
commented out, as in a copy of .env.example) is added at the end. Uses only the standard
library: it runs before Django can start.
"""

from __future__ import annotations

import base64
import os
import secrets
import sys
from pathlib import Path

ENV_FILE = Path(__file__).resolve().parent.parent / ".env"


# A local install behaves like production (no debug pages, hashed static files), but it is
# served over plain HTTP on this machine, so cookies cannot require HTTPS. Written only together
# with DEBUG, i.e. on a fresh install: a file that already decides DEBUG keeps its security.
LOCAL_HTTP = {"SECURE_COOKIES": "false", "SECURE_SSL_REDIRECT": "false", "SECURE_HSTS_SECONDS": "0"}


def _fresh_values(text: str) -> dict[str, str]:
    values = {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "CREDENTIAL_KEYS": base64.urlsafe_b64encode(os.urandom(32)).decode(),
    }
    debug_decided = os.environ.get("DEBUG") or any(
        line.partition("=")[0].strip() == "DEBUG" and line.partition("=")[2].strip()
        for line in text.splitlines()
    )
    if not debug_decided:
        values |= {"DEBUG": "false", **LOCAL_HTTP}
    return values


def complete(text: str) -> tuple[str, list[str]]:
    """The dotenv text with missing or empty keys filled in, and the names that were filled."""
    fresh = {k: v for k, v in _fresh_values(text).items() if not os.environ.get(k)}
    lines = text.splitlines()
    filled: list[str] = []
    for i, line in enumerate(lines):
        key, sep, value = line.partition("=")
        key = key.strip()
        if sep and key in fresh:
            if not value.strip():
                lines[i] = f"{key}={fresh[key]}"
                filled.append(key)
            del fresh[key]
    if not text:
        lines.append("# Written by `make run` for this machine. Keep it secret; see .env.example.")
    for key, value in fresh.items():
        lines.append(f"{key}={value}")
        filled.append(key)
    return "\n".join(lines) + "\n", filled


def main() -> int:
    existing = ENV_FILE.read_text() if ENV_FILE.exists() else ""
    text, filled = complete(existing)
    if filled:
        ENV_FILE.write_text(text)
        ENV_FILE.chmod(0o600)
        print(f"Wrote {', '.join(filled)} to {ENV_FILE.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
