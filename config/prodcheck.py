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


# What `make run` writes into .env for plain HTTP on one machine (config.initenv.LOCAL_HTTP).
# Production set up on that machine would silently inherit it: it must be said out loud, in the
# environment (as README's local trial does), or not at all.
LOCAL_HTTP = ("SECURE_COOKIES", "SECURE_SSL_REDIRECT", "SECURE_HSTS_SECONDS")
OFF = {"0", "false", "no", "off"}


def problems(environ: Mapping[str, str], dotenv: Mapping[str, str | None]) -> list[str]:
    values = {**{k: v for k, v in dotenv.items() if v is not None}, **environ}
    found = [
        f"{name} is not set: {what}."
        for name, what in REQUIRED.items()
        if not values.get(name, "").strip()
    ]
    if (values.get("MEDIA_STORAGE") or "").strip() == "s3" and not values.get("S3_BUCKET"):
        found.append("S3_BUCKET is not set: the bucket for media, as MEDIA_STORAGE is s3.")
    # The settings read .env for what the environment leaves unset: a DEBUG=true there would
    # switch on debug pages wherever DEBUG is not exported (make prod exports false).
    if "DEBUG" not in environ and (dotenv.get("DEBUG") or "").strip().lower() in TRUE:
        found.append("DEBUG is true in .env: production runs with DEBUG=false; remove the line.")
    for name in LOCAL_HTTP:
        if name not in environ and (dotenv.get(name) or "").strip().lower() in OFF:
            found.append(
                f"{name} is off in .env (`make run` writes that for plain HTTP on this "
                "machine): remove the line, or set it in the environment to mean it."
            )
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
