"""/healthz says the process is up; /readyz says whether each dependency answers, truthfully:
each check is made to fail for real (a closed port, a dead Redis, a database that cannot be
opened, storage that cannot be written)."""

from __future__ import annotations

import json
import socket
import time

import pytest
from django.db import connections
from django.urls import reverse

from config import health


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


def _ready(client) -> tuple[int, dict]:
    response = client.get(reverse("readyz"))
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    return response.status_code, json.loads(response.content)


def test_healthz_answers_without_a_query_a_session_or_a_known_host(
    client, settings, db, django_assert_num_queries
):
    settings.SECURE_SSL_REDIRECT = True  # the load balancer polls plain HTTP inside the network
    settings.ALLOWED_HOSTS = ["darkroom.example.com"]  # and by the machine's address
    with django_assert_num_queries(0):
        response = client.get(reverse("healthz"), HTTP_HOST="10.0.0.7:8000")
    assert (response.status_code, response.content) == (200, b"ok")
    assert not response.cookies


def test_readyz_reports_every_check_with_its_latency(client, media, db):
    status, body = _ready(client)
    assert status == 200, body
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "broker", "cache", "storage"}
    for check in body["checks"].values():
        assert check["status"] == "ok"
        assert isinstance(check["ms"], float | int)
    assert not any(media.rglob("*.txt")), "the storage probe deletes what it wrote"


def test_readyz_is_answered_over_plain_http_for_any_host(client, media, db, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["darkroom.example.com"]
    response = client.get(reverse("readyz"), HTTP_HOST="10.0.0.7")
    assert response.status_code == 200


def _only_failure(body: dict) -> tuple[str, str]:
    failed = {name: c for name, c in body["checks"].items() if c["status"] == "fail"}
    assert len(failed) == 1, body
    [(name, check)] = failed.items()
    return name, check["error"]


def test_a_broker_that_refuses_connections_fails_the_broker_check(client, media, db, settings):
    settings.CELERY_BROKER_URL = f"redis://:canary-broker-password@127.0.0.1:{_closed_port()}/0"
    settings.CELERY_BROKER_TRANSPORT = None
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    status, body = _ready(client)
    assert (status, body["status"]) == (503, "fail")
    name, error = _only_failure(body)
    assert name == "broker"
    assert error.startswith("OperationalError: ")
    assert "canary-broker-password" not in json.dumps(body)


def test_a_filesystem_broker_whose_folder_is_gone_fails_the_broker_check(
    client, media, db, settings, tmp_path
):
    if not settings.CELERY_BROKER_URL.startswith("filesystem://"):
        pytest.skip("about the filesystem broker")
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
        **settings.CELERY_BROKER_TRANSPORT_OPTIONS,
        "data_folder_in": str(tmp_path / "gone"),
    }
    status, body = _ready(client)
    assert status == 503
    assert _only_failure(body)[0] == "broker"


@pytest.mark.parametrize(
    "backend",
    [
        "django.core.cache.backends.redis.RedisCache",
        "config.cache.RedisCache",  # Darkroom's: reads an unreachable Redis as a miss
    ],
)
def test_a_dead_redis_cache_fails_the_cache_check(client, media, db, settings, backend):
    settings.CACHES = {
        "default": {"BACKEND": backend, "LOCATION": f"redis://127.0.0.1:{_closed_port()}/2"}
    }
    status, body = _ready(client)
    assert status == 503
    name, error = _only_failure(body)
    assert name == "cache"
    assert error.startswith("ConnectionError: ")


def test_a_database_that_cannot_be_opened_fails_the_database_check(
    client, media, db, monkeypatch, tmp_path
):
    # The check opens its own connection (in its own thread), from these settings.
    broken = dict(connections.settings["default"])
    if broken["ENGINE"].endswith("postgresql"):
        broken["PORT"] = str(_closed_port())  # nobody listens there
    else:
        broken["NAME"] = str(tmp_path / "no" / "such" / "db")  # a folder that is not there
    monkeypatch.setitem(connections.settings, "default", broken)
    status, body = _ready(client)
    assert status == 503
    name, error = _only_failure(body)
    assert name == "database"
    assert error.startswith("OperationalError: ")


def test_storage_that_cannot_be_written_fails_the_storage_check(client, db, settings, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("media cannot be a folder inside a file")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(blocker / "media")},
        },
    }
    status, body = _ready(client)
    assert status == 503
    name, error = _only_failure(body)
    assert name == "storage"
    assert error.split(":")[0] in {"NotADirectoryError", "FileExistsError"}


def test_a_check_that_hangs_is_reported_after_the_timeout(client, media, db, monkeypatch):
    # A dependency that accepts connections and never answers cannot be made here cheaply.
    monkeypatch.setattr(health, "CHECK_TIMEOUT_SECONDS", 0.3)
    # The others answer at once: on a busy machine a real one (moto's bucket) can take 0.3 s too.
    for name in health.CHECKS:
        monkeypatch.setitem(health.CHECKS, name, lambda: None)
    monkeypatch.setitem(health.CHECKS, "cache", lambda: time.sleep(2))
    started = time.monotonic()
    status, body = _ready(client)
    assert time.monotonic() - started < 1.5
    assert status == 503
    assert _only_failure(body) == ("cache", "Timeout: no answer within 0.3 s")


def test_an_error_quoting_a_url_loses_its_credentials():
    error = ValueError("cannot reach redis://admin:hunter2@cache.internal:6379/0 now")
    assert health.reason(error) == "ValueError: cannot reach redis://***@cache.internal:6379/0 now"
