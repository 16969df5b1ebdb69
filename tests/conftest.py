"""The cast every test can use: one workspace with an owner (admin), a member and a viewer, and an
outsider who belongs to another workspace."""

from __future__ import annotations

import io
import json
import logging
import os
from collections.abc import Callable, Iterator

import pytest
from django.conf import settings as django_settings
from django.test import Client

from accounts.models import Role, User, Workspace
from config.logfilters import JsonFormatter, LogContext
from config.storage import s3_storage
from tests.factories import MembershipFactory, UserFactory, WorkspaceFactory
from tests.s3server import (
    ACCESS_KEY_ID,
    REGION,
    SECRET_ACCESS_KEY,
    S3Server,
    start_s3_server,
    stop,
)


def pytest_report_header() -> list[str]:
    """Say in the log which database and broker this run really used (CI: PostgreSQL + Redis)."""
    db = django_settings.DATABASES["default"]
    broker = django_settings.CELERY_BROKER_URL.split("@")[-1]
    engine = db["ENGINE"].rsplit(".", 1)[-1]
    return [f"darkroom: database {engine} {db.get('HOST') or db['NAME']}, broker {broker}"]


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    """Each test starts with an empty cache (in CI a shared Redis: provider tokens live there)."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _default_language() -> None:
    """Each test starts in the default language: a request a test sent in German leaves German
    active in the thread (LocaleMiddleware activates it and nothing resets it), which made the
    next test's English assertions fail depending on test order (seen under pytest-xdist)."""
    from django.utils import translation

    translation.deactivate()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def workspace(db) -> Workspace:
    return WorkspaceFactory(name="Studio", slug="studio")


@pytest.fixture
def studio(workspace, sandbox) -> Workspace:
    """The cast's workspace, its provider the live sandbox, its model catalog loaded."""
    from gallery.services.catalog import catalog_refresh

    credential = workspace.credential
    credential.base_url = sandbox.url
    credential.save()
    catalog_refresh(workspace=workspace)
    return workspace


@pytest.fixture
def owner(workspace) -> User:
    return MembershipFactory(
        workspace=workspace,
        role=Role.ADMIN,
        user__email="alice@example.com",
        user__first_name="Alice",
    ).user


@pytest.fixture
def member(workspace) -> User:
    return MembershipFactory(
        workspace=workspace, role=Role.MEMBER, user__email="bob@example.com"
    ).user


@pytest.fixture
def viewer(workspace) -> User:
    return MembershipFactory(
        workspace=workspace, role=Role.VIEWER, user__email="vera@example.com"
    ).user


@pytest.fixture
def outsider(db) -> User:
    other = WorkspaceFactory(name="Elsewhere", slug="elsewhere")
    return MembershipFactory(workspace=other, role=Role.ADMIN, user__email="eve@example.com").user


@pytest.fixture
def client_for() -> Callable[[User], Client]:
    def make(user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def owner_client(client_for, owner) -> Client:
    return client_for(owner)


@pytest.fixture
def member_client(client_for, member) -> Client:
    return client_for(member)


@pytest.fixture
def viewer_client(client_for, viewer) -> Client:
    return client_for(viewer)


@pytest.fixture
def outsider_client(client_for, outsider) -> Client:
    return client_for(outsider)


@pytest.fixture
def make_user(db) -> Callable[..., User]:
    return UserFactory


class Captured:
    """Everything logged anywhere, as JSON lines, through the filter and formatter LOGGING uses."""

    def __init__(self) -> None:
        self.stream = io.StringIO()

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def entries(self) -> list[dict]:
        return [json.loads(line) for line in self.text.splitlines()]


@pytest.fixture
def logs() -> Iterator[Captured]:
    captured = Captured()
    handler = logging.StreamHandler(captured.stream)
    handler.addFilter(LogContext())
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield captured
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


# --- Media ------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """The local S3-protocol server: the session's own under `TEST_MEDIA_STORAGE=s3`
    (tests/environment.py), else one started for the tests that ask for it."""
    if os.environ.get("MEDIA_STORAGE") == "s3":
        yield S3Server(os.environ["S3_ENDPOINT_URL"], os.environ["S3_BUCKET"])
        return
    server, process = start_s3_server()
    yield server
    stop(process)


@pytest.fixture
def s3(s3_server, settings) -> S3Server:
    """Media in the local S3-protocol server's private bucket for this test, whatever the run's
    mode (a Celery worker follows only the run's mode: see tests/environment.py)."""
    settings.MEDIA_STORAGE = "s3"
    settings.S3_PRESIGN_SECONDS = 300
    settings.STORAGES = {
        **settings.STORAGES,
        "default": s3_storage(
            bucket=s3_server.bucket,
            endpoint_url=s3_server.endpoint_url,
            region=REGION,
            access_key_id=ACCESS_KEY_ID,
            secret_access_key=SECRET_ACCESS_KEY,
            prefix="",
            presign_seconds=settings.S3_PRESIGN_SECONDS,
        ),
    }
    # What config/settings.py adds for a bucket: browsers may load images from its origin.
    if s3_server.endpoint_url not in settings.CONTENT_SECURITY_POLICY:
        settings.CONTENT_SECURITY_POLICY = settings.CONTENT_SECURITY_POLICY.replace(
            "img-src 'self' data: blob:", f"img-src 'self' data: blob: {s3_server.endpoint_url}"
        )
    return s3_server
