"""Refuse to start production (`make prod`) without the settings it cannot run safely without.

Reads the environment and the .env file the way the settings do, before anything starts, and
says in one message everything that is missing.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path

from dotenv import dotenv_values

ROOT = Path(__file__).resolve().parent.parent

REQUIRED = {
    "SECRET_KEY": "Django's signing key, a long random string "
    '(python -c "import secrets; print(secrets.token_urlsafe(50))")',
    "ALLOWED_HOSTS": "the host names people use to reach Darkroom, e.g. darkroom.example.com",
    "CREDENTIAL_KEYS": "the key that encrypts provider secrets (`make key` prints a new one; "
    "keep the one you already use)",
}
TRUE = {"1", "true", "yes", "on"}


def problems(environ: Mapping[str, str], dotenv: Mapping[str, str | None]) -> list[str]:
    values = {**{k: v for k, v in dotenv.items() if v is not None}, **environ}
    found = [
        f"{name} is not set: {what}."
        for name, what in REQUIRED.items()
        if not values.get(name, "").strip()
    ]
    # honcho hands .env's values to the processes over the environment's: DEBUG there wins.
    if (dotenv.get("DEBUG") or "").strip().lower() in TRUE:
        found.append("DEBUG is true in .env: production runs with DEBUG=false; remove the line.")
    return found


def main() -> int:
    env_file = os.environ.get("ENV_FILE", str(ROOT / ".env"))
    dotenv = dotenv_values(env_file) if env_file and Path(env_file).exists() else {}
    found = problems(os.environ, dotenv)
    if not found:
        return 0
    where = f"the environment or {env_file}" if env_file else "the environment"
    print(f"Production cannot start. Set these in {where}:", file=sys.stderr)
    for problem in found:
        print(f"  - {problem}", file=sys.stderr)
    print("README.md, section Deploying, lists every setting.", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
