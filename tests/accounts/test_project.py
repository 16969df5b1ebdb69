from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]


def test_it_has_a_migration_for_every_model_change(db):
    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out)
    except SystemExit as exc:  # --check exits non-zero when a migration is missing
        raise AssertionError(f"Missing migrations:\n{out.getvalue()}") from exc


def _production_env(**overrides: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "STATIC_STORAGE", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    env.update(
        DEBUG="false",
        SECRET_KEY="x7Qm2vL9pR4tY8wZ1cF6hJ3kN5bD0gS-aE_uI7oP2qW9rT4yU6iO8pA1sD3fG5hJ",
        ALLOWED_HOSTS="darkroom.example.com",
        ENV_FILE="",
    )
    env.update(overrides)
    return env


def test_it_passes_the_deployment_checklist_with_production_settings():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_production_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_it_refuses_to_start_in_production_without_a_secret_key():
    env = _production_env()
    del env["SECRET_KEY"]
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_it_explains_a_malformed_setting():
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=_production_env(PROVIDER_READ_TIMEOUT="soon"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "PROVIDER_READ_TIMEOUT must be a number, not 'soon'" in result.stderr


def test_it_reports_missing_credential_keys_as_a_system_check_error():
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=_production_env(CREDENTIAL_KEYS=""),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "darkroom.E001" in result.stderr
