from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from io import StringIO
from pathlib import Path

import pytest
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


def _manage(*args: str, cwd: Path = ROOT, **env: str) -> subprocess.CompletedProcess[str]:
    """`manage.py ARGS` in a fresh process with production settings, `env` on top."""
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *args],
        cwd=cwd,
        env=_production_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_passes_the_deployment_checklist_with_production_settings():
    result = _manage("check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_it_passes_the_deployment_checklist_with_media_in_a_private_bucket():
    bucket = {
        "MEDIA_STORAGE": "s3",
        "S3_BUCKET": "darkroom-media",
        "S3_REGION": "eu-central-1",
        "S3_ENDPOINT_URL": "",  # AWS itself (under TEST_MEDIA_STORAGE=s3 the run's is moto)
    }
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **bucket)
    assert result.returncode == 0, result.stdout + result.stderr
    shown = _manage(
        "shell",
        "-c",
        "from django.conf import settings as s; o = s.STORAGES['default']['OPTIONS']; "
        "print(o['default_acl'], o['querystring_auth'], o['querystring_expire']); "
        "print(s.CONTENT_SECURITY_POLICY)",
        **bucket,
    )
    acl_and_auth, policy = shown.stdout.splitlines()[-2:]
    assert acl_and_auth == "None True 300"  # no public ACL; every URL presigned, for 5 minutes
    # Browsers may load the presigned images from the bucket, and from nowhere else new.
    assert "img-src 'self' data: blob: https://darkroom-media.s3.eu-central-1.amazonaws.com;" in (
        policy
    )


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        (
            {"MEDIA_STORAGE": "s3", "S3_BUCKET": ""},
            "S3_BUCKET must be set when MEDIA_STORAGE is s3",
        ),
        ({"MEDIA_STORAGE": "disk"}, "MEDIA_STORAGE must be local or s3, not 'disk'"),
    ],
)
def test_it_explains_incomplete_media_storage_settings(variables, message):
    result = _manage("check", **variables)
    assert result.returncode != 0
    assert message in result.stderr


def test_it_refuses_to_start_in_production_without_a_secret_key():
    result = _manage("check", SECRET_KEY="")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_it_explains_a_malformed_setting():
    result = _manage("check", PROVIDER_READ_TIMEOUT="soon")
    assert result.returncode != 0
    assert "PROVIDER_READ_TIMEOUT must be a number, not 'soon'" in result.stderr


def test_it_reports_missing_credential_keys_as_a_system_check_error():
    result = _manage("check", CREDENTIAL_KEYS="")
    assert result.returncode != 0
    assert "darkroom.E001" in result.stderr


PRINT_PATHS = """
from django.conf import settings as s
print(s.VAR_DIR, s.STATIC_ROOT, s.MEDIA_ROOT, s.DATABASES["default"]["NAME"],
      s.CACHES["default"]["LOCATION"], s.CELERY_RESULT_BACKEND.removeprefix("file://"))
"""


@pytest.fixture
def relative_var_dir() -> Iterator[str]:
    """A folder under the project's var/, named relative to the project folder."""
    here = f"var/test/relative-{os.getpid()}"
    yield here
    shutil.rmtree(ROOT / here, ignore_errors=True)


def test_it_takes_relative_paths_from_the_project_folder_wherever_it_starts(
    tmp_path, relative_var_dir
):
    here = relative_var_dir
    result = _manage(
        "shell",
        "--no-imports",
        "-c",
        PRINT_PATHS,
        cwd=tmp_path,
        VAR_DIR=here,
        STATIC_ROOT=f"{here}/static",
        MEDIA_ROOT=f"./{here}/media",
        DATABASE_URL=f"sqlite:///{here}/db.sqlite3",
        CACHE_URL=f"file://{here}/cache",
        CELERY_RESULT_BACKEND=f"file://{here}/results",
    )
    assert result.returncode == 0, result.stderr
    paths = [Path(p) for p in result.stdout.split()]
    assert paths == [
        ROOT / here,
        ROOT / here / "static",
        ROOT / here / "media",
        ROOT / here / "db.sqlite3",
        ROOT / here / "cache",
        ROOT / here / "results",
    ]
    assert not (tmp_path / "var").exists()


PRINT_PROXY = """
from django.conf import settings as s
print(getattr(s, "AXES_CLIENT_IP_CALLABLE", None), s.TRUSTED_PROXY_COUNT)
"""


def test_it_takes_the_login_address_from_x_forwarded_for_only_behind_a_proxy():
    direct = _manage("shell", "--no-imports", "-c", PRINT_PROXY)
    assert direct.stdout.split() == ["None", "1"], direct.stderr
    proxied = _manage(
        "shell", "--no-imports", "-c", PRINT_PROXY, BEHIND_TLS_PROXY="true", TRUSTED_PROXY_COUNT="2"
    )
    assert proxied.stdout.split() == ["accounts.auth.client_ip_behind_proxy", "2"], proxied.stderr
