"""Create or complete `.env` with fresh secrets for a local install (used by `make run`).

Existing values are never replaced, so a second `make run` keeps the keys that encrypted the
stored credentials. Uses only the standard library: it runs before Django can start.
"""

from __future__ import annotations

import base64
import os
import secrets
import sys
from pathlib import Path

ENV_FILE = Path(__file__).resolve().parent.parent / ".env"


def _fresh_values() -> dict[str, str]:
    return {
        "DEBUG": "true",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "CREDENTIAL_KEYS": base64.urlsafe_b64encode(os.urandom(32)).decode(),
    }


def main() -> int:
    existing = ENV_FILE.read_text() if ENV_FILE.exists() else ""
    present = {line.split("=", 1)[0].strip() for line in existing.splitlines() if "=" in line}
    missing = {k: v for k, v in _fresh_values().items() if k not in present and k not in os.environ}
    if not missing:
        return 0
    lines = [] if existing.endswith("\n") or not existing else [""]
    if not existing:
        lines.append("# Written by `make run` for this machine. Keep it secret; see .env.example.")
    lines += [f"{key}={value}" for key, value in missing.items()]
    ENV_FILE.write_text(existing + "\n".join(lines) + "\n")
    ENV_FILE.chmod(0o600)
    print(f"Wrote {', '.join(missing)} to {ENV_FILE.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
