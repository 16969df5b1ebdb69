"""A throwaway Darkroom for the pipeline benchmark: its own database, broker, media and cache in a
temp dir, the sandbox, gunicorn and Celery workers as child processes, all removed on exit.

`BENCH_DATABASE_URL` / `BENCH_BROKER_URL` point it at PostgreSQL / Redis instead. That database
gets migrated and keeps its tables; the bench deletes only the workspace and user it made.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import requests
from cryptography.fernet import Fernet

from tests.bench.processes import ROOT, Child, start_beat, start_web, start_worker
from tests.sandbox_fixture import SandboxHandle, start_sandbox

if TYPE_CHECKING:
    from accounts.models import User, Workspace

PROMPT = "a lighthouse at dusk"
MODEL = "nano-banana-2"
# Far above anything the bench submits, so the per-workspace and per-member caps never refuse.
NO_CAP = "1000000"


class BenchError(RuntimeError):
    pass


def bench_env(tmp: Path) -> dict[str, str]:
    """Everything settings.py reads that matters here, so a developer's .env cannot leak in."""
    return {
        **os.environ,
        "ENV_FILE": "",
        "DEBUG": "true",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "CREDENTIAL_KEYS": Fernet.generate_key().decode(),
        "VAR_DIR": str(tmp),
        "MEDIA_ROOT": str(tmp / "media"),
        "STATIC_ROOT": str(tmp / "staticfiles"),
        "STATIC_STORAGE": "simple",
        "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{tmp}/bench.sqlite3",
        "CELERY_BROKER_URL": os.environ.get("BENCH_BROKER_URL") or "filesystem://",
        "CELERY_RESULT_BACKEND": f"file://{tmp}/celery/results",
        "CACHE_URL": f"file://{tmp}/cache",
        "JOBS_MAX_ACTIVE_PER_WORKSPACE": NO_CAP,
        "JOBS_PER_MEMBER_PER_MINUTE": NO_CAP,
        # The bench's sandbox listens on loopback at a random port.
        "PROVIDER_PRIVATE_HOSTS": "127.0.0.1,localhost",
    }


def migrate(env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise BenchError(f"migrate failed:\n{done.stdout}\n{done.stderr}")


def setup_django(env: dict[str, str]) -> None:
    """This process becomes one more Darkroom process (it seeds data and watches jobs)."""
    from django.conf import settings

    if settings.configured:
        raise BenchError("Django was set up before the bench environment was in place")
    os.environ.update(env)
    os.environ["LOG_LEVEL"] = "WARNING"  # keep this process's log out of the tables
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django

    django.setup()
    # purge() on the filesystem broker warns that its URL names no host; that is its nature.
    logging.getLogger("kombu.connection").setLevel(logging.ERROR)


@dataclass(frozen=True)
class Submitted:
    job_id: int
    started_at: float  # wall clock (time.time()), to compare with the job's timestamps
    seconds: float  # until the web tier answered


@dataclass
class Stack:
    tmp: Path
    env: dict[str, str]
    sandbox: SandboxHandle
    web: Child
    generate_url: str
    workspace: Workspace
    http: requests.Session
    cleanup: ExitStack
    workers: list[Child] = field(default_factory=list)
    beat: Child | None = None

    def describe(self) -> str:
        from django.conf import settings

        db = settings.DATABASES["default"]
        engine = db["ENGINE"].rsplit(".", 1)[-1]
        where = "a fresh file" if engine == "sqlite3" else f"{db['HOST']}/{db['NAME']}"
        broker = settings.CELERY_BROKER_URL.split("@")[-1]
        polling = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("polling_interval")
        if broker.startswith("filesystem://"):
            broker += f" (polls every {polling or 1} s)"
        return (
            f"database {engine} ({where}), broker {broker}, web gunicorn (1 process), "
            f"workers `celery worker --concurrency 1`, {os.cpu_count()} CPUs"
        )

    def start_worker(self, concurrency: int = 1) -> Child:
        name = f"worker-{len(self.workers) + 1}"
        worker = start_worker(
            name, env=self.env, log_dir=self.tmp / "logs", concurrency=concurrency
        )
        self.workers.append(worker)
        self.cleanup.callback(worker.stop)
        return worker

    def browser(self) -> requests.Session:
        """Another browser of the same member (for simulated users, one per thread)."""
        http = requests.Session()
        http.trust_env = False
        http.cookies.update(self.http.cookies)
        http.headers.update(self.http.headers)
        self.cleanup.callback(http.close)
        return http

    def start_beat(self) -> Child:
        self.beat = start_beat(env=self.env, log_dir=self.tmp / "logs")
        self.cleanup.callback(self.beat.stop)
        return self.beat

    def submit(self, prompt: str = PROMPT, http: requests.Session | None = None) -> Submitted:
        """POST the generate form as the page's htmx does, and find the job it made."""
        from gallery.models import Job

        key = uuid.uuid4().hex
        data = {
            "prompt": prompt,
            "model": MODEL,
            "n": "1",
            "aspect_ratio": "1:1",
            "output_format": "png",
            "idempotency_key": key,
        }
        started_at = time.time()
        started = time.perf_counter()
        response = (http or self.http).post(
            self.generate_url, data=data, headers={"HX-Request": "true"}, timeout=30
        )
        seconds = time.perf_counter() - started
        job_id = (
            Job.objects.filter(workspace=self.workspace, idempotency_key=key)
            .values_list("pk", flat=True)
            .first()
        )
        if response.status_code != 200 or job_id is None:
            detail = self.web.log_tail() if response.status_code >= 500 else response.text
            raise BenchError(f"submit made no job ({response.status_code}):\n{detail[-3000:]}")
        return Submitted(job_id, started_at, seconds)

    def discard_queued(self) -> None:
        """Empty the broker and cancel the workspace's queued jobs (nobody ran them)."""
        from config.celery import app
        from gallery.models import Job, JobState
        from gallery.services.jobs import job_cancel

        app.control.purge()
        queued = Job.objects.filter(workspace=self.workspace, state=JobState.QUEUED)
        for job in queued.select_related("author"):
            job_cancel(job=job, membership=job.author.memberships.get(workspace=self.workspace))


def _seed(sandbox: SandboxHandle) -> tuple[Workspace, User]:
    from accounts.models import Membership, ProviderCredential, Role, User, Workspace
    from gallery.services.catalog import catalog_refresh

    tag = secrets.token_hex(4)
    member = User.objects.create_user(f"bench-{tag}@example.com")
    workspace = Workspace.objects.create(name=f"Bench {tag}", slug=f"bench-{tag}")
    Membership.objects.create(user=member, workspace=workspace, role=Role.MEMBER)
    ProviderCredential.objects.create(workspace=workspace, kind="sandbox", base_url=sandbox.url)
    # The sandbox's default daily quota would refuse the throughput run up front.
    sandbox.set_quota(limit_monthly=1_000_000, limit_daily=1_000_000)
    catalog_refresh(workspace=workspace)
    return workspace, member


def _unseed(workspace: Workspace, member: User) -> None:
    workspace.delete()
    member.delete()


def _logged_in_session(member: User, generate_url: str) -> requests.Session:
    """A browser stand-in: the member's session cookie and the CSRF token from the page."""
    from django.conf import settings
    from django.test import Client

    client = Client()
    client.force_login(member)
    http = requests.Session()
    http.trust_env = False  # never send 127.0.0.1 through a proxy from the environment
    http.cookies.set(
        settings.SESSION_COOKIE_NAME, client.cookies[settings.SESSION_COOKIE_NAME].value
    )
    page = http.get(generate_url, timeout=30)
    if page.status_code != 200 or "csrftoken" not in http.cookies:
        raise BenchError(f"the generate page did not load ({page.status_code})")
    http.headers["X-CSRFToken"] = http.cookies["csrftoken"]
    return http


@contextmanager
def bench_stack() -> Iterator[Stack]:
    with ExitStack() as cleanup:
        tmp = Path(tempfile.mkdtemp(prefix="darkroom-bench-"))
        cleanup.callback(shutil.rmtree, tmp, ignore_errors=True)
        (tmp / "logs").mkdir()
        # settings.py creates this folder only with the filesystem broker, yet the file result
        # backend needs it with any broker: without it every submit fails on Redis.
        (tmp / "celery" / "results").mkdir(parents=True)
        env = bench_env(tmp)
        sandbox = start_sandbox(
            tmp / "sandbox.sqlite3", extra_args=["--quiet"], log_dir=tmp / "logs"
        )
        cleanup.callback(sandbox.stop)
        migrate(env)
        setup_django(env)
        from django.db import connections

        from config.celery import app

        cleanup.callback(connections.close_all)
        app.control.purge()  # a shared Redis may hold messages from an earlier, aborted run
        cleanup.callback(app.control.purge)
        workspace, member = _seed(sandbox)
        if "BENCH_DATABASE_URL" in os.environ:
            cleanup.callback(_unseed, workspace, member)
        web, web_url = start_web(env=env, log_dir=tmp / "logs")
        cleanup.callback(web.stop)
        from django.urls import reverse

        generate_url = web_url + reverse("gallery:generate", args=[workspace.slug])
        http = _logged_in_session(member, generate_url)
        cleanup.callback(http.close)
        yield Stack(tmp, env, sandbox, web, generate_url, workspace, http, cleanup)
