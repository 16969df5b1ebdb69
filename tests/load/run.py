"""`make load`: a bounded load test of Darkroom as a production deploy runs it, on this machine.

A throwaway Darkroom in a temp folder (the bench harness: `tests/bench/stack.py`, `processes.py`,
`gallery_seed.py`): migrated, static files collected with the manifest storage, 100,000 images
seeded, gunicorn with `DEBUG=false` on 127.0.0.1 only, a Celery worker and beat, the sandbox as
the provider. Then locust, headless in its own process (it patches the standard library with
gevent), runs `tests/load/locustfile.py`: 50 people browsing the gallery while 20 jobs are
submitted and run. Afterwards the database must show every submitted job succeeded.

    uv run python -m tests.load [--users 50] [--seconds 60] [--images 100000]

`BENCH_DATABASE_URL` (a PostgreSQL database whose name ends in `_load`: dropped and created
again, dropped at the end) and `BENCH_BROKER_URL` (Redis, never database 0: flushed before and
after) run it on PostgreSQL + Redis; the cache and the result backend then use that Redis too.
Not a test: the numbers depend on the machine and what else runs on it.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.bench.gallery_seed import Seeded, seed, thumbnail_bytes
from tests.bench.processes import ROOT, Child, start_beat, start_web, start_worker
from tests.bench.report import table
from tests.bench.stack import MODEL, BenchError, bench_env, migrate, setup_django
from tests.load import paths
from tests.sandbox_fixture import SandboxHandle, start_sandbox

LOCUSTFILE = Path(__file__).with_name("locustfile.py")
# Upper bounds whatever the flags say: this is a load test of one machine, not a stress test.
MAX_USERS, MAX_SECONDS, MAX_IMAGES = 200, 600, 200_000
SPAWN_RATE = 10  # users started per second
MAX_REQUESTS = 100_000  # locust stops everyone at this count even before the time is up
JOBS, CREATORS = 20, 5  # 20 jobs, submitted by 5 of the users, 4 each
ACCOUNTS = 4  # the seeded members the users sign in as (gallery_seed makes 4)
# A production deploy on this machine, as `make prod` starts it: gunicorn with
# config/gunicorn.py (2 x CPUs + 1 processes of 4 threads, keep-alive longer than a user's
# pause between actions); one Celery worker with a process per CPU; beat.
CPUS = os.cpu_count() or 1
WEB_WORKERS, WEB_THREADS, WORKER_CONCURRENCY = 2 * CPUS + 1, 4, CPUS
# A real provider takes seconds per image; the sandbox alone answers in ≈0.1 s.
GENERATE_LATENCY = 2.0
DRAIN_SECONDS = 120  # after locust stops, how long the jobs still running may take
LOGS = ROOT / "var" / "load-logs"  # the last run's logs: gunicorn, worker, beat, locust


def _progress(message: str) -> None:
    print(f"load: {message}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] = ()) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.load")
    parser.add_argument("--users", type=int, default=50, help=f"at most {MAX_USERS}")
    parser.add_argument("--seconds", type=int, default=60, help=f"at most {MAX_SECONDS}")
    parser.add_argument("--images", type=int, default=100_000, help=f"at most {MAX_IMAGES:,}")
    args = parser.parse_args(argv)
    if not (CREATORS < args.users <= MAX_USERS):
        parser.error(f"--users must be between {CREATORS + 1} and {MAX_USERS}")
    if not (10 <= args.seconds <= MAX_SECONDS):
        parser.error(f"--seconds must be between 10 and {MAX_SECONDS}")
    if not (1_000 <= args.images <= MAX_IMAGES):
        parser.error(f"--images must be between 1,000 and {MAX_IMAGES:,}")
    with load_stack(images=args.images, users=args.users) as stack:
        result, load = run_locust(stack, users=args.users, seconds=args.seconds)
        jobs = drain(stack, result.submitted)
        print(report(stack, result, jobs, load=load, users=args.users, seconds=args.seconds))
    if jobs.lost or result.failures or jobs.submitted < JOBS:
        raise SystemExit(
            f"load: {result.failures} requests failed, {jobs.submitted} of {JOBS} jobs were "
            f"submitted and {jobs.lost} of them did not succeed (see the tables above)"
        )


# --- The stack --------------------------------------------------------------------------------


@dataclass
class LoadStack:
    tmp: Path
    url: str
    seeded: Seeded
    sandbox: SandboxHandle
    plan: Path
    stack_note: str
    images: int
    seed_seconds: float
    web: Child


def _production_env(tmp: Path) -> dict[str, str]:
    env = bench_env(tmp)
    # The bench lifts the job caps; a production deploy keeps the defaults (20 jobs stay within).
    env.pop("JOBS_MAX_ACTIVE_PER_WORKSPACE")
    env.pop("JOBS_PER_MEMBER_PER_MINUTE")
    env.update(
        {
            "DEBUG": "false",
            "ALLOWED_HOSTS": "127.0.0.1",
            "STATIC_STORAGE": "manifest",
            # Plain HTTP on loopback, as `make run` serves it (no TLS proxy in front).
            "SECURE_COOKIES": "false",
            "SECURE_SSL_REDIRECT": "false",
            "SECURE_HSTS_SECONDS": "0",
        }
    )
    broker = env["CELERY_BROKER_URL"]
    if broker.startswith("redis://"):
        if urlsplit(broker).path.strip("/") in {"", "0"}:
            raise BenchError("BENCH_BROKER_URL must name a Redis database other than 0")
        env["CACHE_URL"] = env["CELERY_RESULT_BACKEND"] = broker
    return env


def _postgres(url: str, statement: str) -> None:
    import psycopg

    server = url.rsplit("/", 1)[0]
    with psycopg.connect(f"{server}/postgres", autocommit=True, connect_timeout=5) as conn:
        conn.execute(statement)


def _throwaway_database(cleanup: ExitStack) -> None:
    url = os.environ.get("BENCH_DATABASE_URL")
    if not url:
        return
    name = urlsplit(url).path.strip("/")
    if not re.fullmatch(r"\w+_load", name):
        raise BenchError(
            f"BENCH_DATABASE_URL names {name!r}: the load test drops and recreates its database, "
            "so its name must end in _load (e.g. darkroom_load)."
        )
    _postgres(url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    _postgres(url, f"CREATE DATABASE {name}")
    cleanup.callback(_postgres, url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _flush_redis(url: str) -> None:
    import redis

    with redis.Redis.from_url(url) as connection:
        connection.flushdb()


def _collectstatic(env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise BenchError(f"collectstatic failed:\n{done.stdout}\n{done.stderr}")


def _provider(seeded: Seeded, sandbox: SandboxHandle) -> None:
    """The seeded workspace's provider is the sandbox, slowed down like a real one."""
    from accounts.models import ProviderCredential, Workspace
    from gallery.services.catalog import catalog_refresh
    from gallery.services.quota import quota_refresh

    workspace = Workspace.objects.get(pk=seeded.workspace_id)
    ProviderCredential.objects.filter(workspace=workspace).update(
        kind="sandbox", base_url=sandbox.url
    )
    sandbox.set_quota(limit_monthly=1_000_000, limit_daily=1_000_000)
    sandbox.faults(route="ds.generate", latency=GENERATE_LATENCY)
    catalog_refresh(workspace=workspace)
    quota_refresh(workspace=workspace)


def _thumbnails(seeded: Seeded) -> None:
    """Every seeded image gets a thumbnail file: one real WebP, hard-linked (a new copy every
    50,000 links: ext4 allows 65,000 links to a file)."""
    from django.conf import settings

    from gallery.models import Image

    media = Path(settings.MEDIA_ROOT)
    thumbnail = thumbnail_bytes()
    names = Image.objects.filter(workspace_id=seeded.workspace_id).values_list(
        "thumbnail", flat=True
    )
    for number, name in enumerate(names.iterator(chunk_size=10_000)):
        if number % 50_000 == 0:
            original = media / f"load-thumbnail-{number}.webp"
            original.parent.mkdir(parents=True, exist_ok=True)
            original.write_bytes(thumbnail)
        path = media / name
        if not path.parent.is_dir():
            path.parent.mkdir(parents=True)
        os.link(original, path)


def _sessions(seeded: Seeded, users: int) -> list[str]:
    """One session per simulated person, signed in as one of the seeded members in turn."""
    from django.conf import settings
    from django.test import Client

    from accounts.models import User

    members = list(User.objects.filter(pk__in=seeded.author_ids[:ACCOUNTS]).order_by("pk"))
    sessions = []
    for number in range(users):
        client = Client()
        client.force_login(members[number % len(members)])
        sessions.append(client.cookies[settings.SESSION_COOKIE_NAME].value)
    return sessions


def _describe() -> str:
    from django.conf import settings
    from django.db import connection

    if connection.vendor == "postgresql":
        database = f"PostgreSQL {connection.pg_version // 10000}"  # type: ignore[attr-defined]
    else:
        import sqlite3

        database = f"SQLite {sqlite3.sqlite_version}"
    broker = settings.CELERY_BROKER_URL.split("@")[-1]
    broker = "Redis" if broker.startswith("redis") else "the filesystem broker"
    cache = settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1]
    return f"{database} + {broker} (cache: {cache})"


def _wait_for_web_workers(web: Child, count: int) -> None:
    deadline = time.monotonic() + 60
    while web.log_path.read_text(errors="replace").count("Booting worker") < count:
        if time.monotonic() > deadline or not web.alive:
            raise BenchError(f"gunicorn did not start {count} workers:\n{web.log_tail()}")
        time.sleep(0.1)


@contextmanager
def load_stack(*, images: int, users: int) -> Iterator[LoadStack]:
    with ExitStack() as cleanup:
        tmp = Path(tempfile.mkdtemp(prefix="darkroom-load-"))
        cleanup.callback(shutil.rmtree, tmp, ignore_errors=True)
        (tmp / "logs").mkdir()
        # The processes' logs outlive the run, for a look at whatever went wrong.
        cleanup.callback(shutil.copytree, tmp / "logs", LOGS, dirs_exist_ok=True)
        shutil.rmtree(LOGS, ignore_errors=True)
        (tmp / "celery" / "results").mkdir(parents=True)
        env = _production_env(tmp)
        if env["CELERY_BROKER_URL"].startswith("redis://"):
            _flush_redis(env["CELERY_BROKER_URL"])
            cleanup.callback(_flush_redis, env["CELERY_BROKER_URL"])
        _throwaway_database(cleanup)
        sandbox = start_sandbox(
            tmp / "sandbox.sqlite3", extra_args=["--quiet"], log_dir=tmp / "logs"
        )
        cleanup.callback(sandbox.stop)
        _progress("migrating and collecting static files")
        migrate(env)
        _collectstatic(env)
        setup_django(env)
        from django.conf import settings
        from django.db import connections

        cleanup.callback(connections.close_all)
        _progress(f"seeding {images:,} images")
        started = time.perf_counter()
        seeded = seed(images)
        _thumbnails(seeded)
        seed_seconds = time.perf_counter() - started
        _provider(seeded, sandbox)
        plan = tmp / "plan.json"
        plan.write_text(
            json.dumps(
                {
                    "slug": seeded.slug,
                    "session_cookie": settings.SESSION_COOKIE_NAME,
                    "sessions": _sessions(seeded, users),
                    "model": MODEL,
                    "jobs": JOBS,
                    "creators": CREATORS,
                    "max_requests": MAX_REQUESTS,
                }
            )
        )
        connections.close_all()  # this process only watches from now on
        _progress(f"seeded in {seed_seconds:.1f} s; starting gunicorn, a worker and beat")
        web, url = start_web(
            env=env,
            log_dir=tmp / "logs",
            workers=WEB_WORKERS,
            threads=WEB_THREADS,
            production=True,
        )
        cleanup.callback(web.stop)
        _wait_for_web_workers(web, WEB_WORKERS)
        worker = start_worker(
            "worker", env=env, log_dir=tmp / "logs", concurrency=WORKER_CONCURRENCY
        )
        cleanup.callback(worker.stop)
        beat = start_beat(env=env, log_dir=tmp / "logs")
        cleanup.callback(beat.stop)
        yield LoadStack(tmp, url, seeded, sandbox, plan, _describe(), images, seed_seconds, web)


# --- The run ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PageStats:
    name: str
    requests: int
    failures: int
    rps: float
    p50: str
    p95: str
    p99: str

    @classmethod
    def parse(cls, numbers: dict[str, Any]) -> PageStats:
        def ms(key: str) -> str:
            return "—" if numbers[key] is None else f"{numbers[key]:,.0f}"

        return cls(
            numbers["name"],
            numbers["requests"],
            numbers["failures"],
            numbers["rps"],
            ms("p50"),
            ms("p95"),
            ms("p99"),
        )


@dataclass(frozen=True)
class LocustResult:
    pages: list[PageStats]
    total: PageStats
    submitted: list[int]
    errors: list[str]

    @property
    def failures(self) -> int:
        return self.total.failures

    @classmethod
    def parse(cls, output: str) -> LocustResult | None:
        """From the line the locustfile prints as it quits; None when it never got there."""
        found = re.search(rf"^{re.escape(paths.RESULT_LINE)}(.*)$", output, re.MULTILINE)
        if found is None:
            return None
        result = json.loads(found[1])
        pages = sorted(map(PageStats.parse, result["pages"]), key=lambda p: -p.requests)
        total = PageStats.parse(result["total"])
        return cls(pages, total, result["submitted"], result["errors"])


def locust_command(*, host: str, users: int, seconds: int) -> list[str]:
    return [
        sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless",
        "-u", str(users), "-r", str(SPAWN_RATE), "-t", f"{seconds}s", "--host", host,
        "--only-summary", "--stop-timeout", "10", "--loglevel", "WARNING",
    ]  # fmt: skip


def locust_env(plan: Path) -> dict[str, str]:
    """Locust's process: the plan, the repository importable, nothing of Django's settings."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    return {**env, "LOAD_PLAN": str(plan), "PYTHONPATH": str(ROOT)}


def warm_up(stack: LoadStack) -> int:
    """Every session opens the gallery once, a few at a time, before locust counts anything: a
    production server has loaded its code and templates in every process, and each person has
    been to the gallery before (the first visit remembers the workspace, one write)."""
    import requests

    plan = json.loads(stack.plan.read_text())

    def visit(session: str) -> int:
        with requests.Session() as http:
            http.trust_env = False  # never send 127.0.0.1 through a proxy from the environment
            http.cookies.set(plan["session_cookie"], session)
            return http.get(stack.url + paths.gallery(plan["slug"]), timeout=60).status_code

    with ThreadPoolExecutor(WEB_WORKERS) as pool:
        statuses = list(pool.map(visit, plan["sessions"]))
    if set(statuses) != {200}:
        raise BenchError(f"the gallery did not load for every session: {statuses}")
    return len(statuses)


def run_locust(
    stack: LoadStack, *, users: int, seconds: int
) -> tuple[LocustResult, tuple[float, float]]:
    """Locust's numbers, and the load average (1 minute) before and after."""
    warmed = warm_up(stack)
    _progress(f"warmed up with {warmed} gallery pages; locust: {users} users for {seconds} s")
    load_before = os.getloadavg()[0]
    done = subprocess.run(
        locust_command(host=stack.url, users=users, seconds=seconds),
        cwd=ROOT,
        env=locust_env(stack.plan),
        capture_output=True,
        text=True,
        timeout=seconds + 120,
        check=False,
    )
    load = (load_before, os.getloadavg()[0])
    (stack.tmp / "logs" / "locust.log").write_text(done.stdout + done.stderr)
    result = LocustResult.parse(done.stdout)
    if result is None:
        raise BenchError(f"locust did not finish ({done.returncode}):\n{done.stderr[-3000:]}")
    return result, load


@dataclass(frozen=True)
class Jobs:
    submitted: int
    in_database: int
    succeeded: int
    states: dict[str, int]
    charged: int
    drain_seconds: float

    @property
    def lost(self) -> int:
        return self.submitted - self.succeeded


def drain(stack: LoadStack, submitted: list[int]) -> Jobs:
    """Wait for the jobs still running, then read from the database how every job ended."""
    from django.db import connections
    from django.db.models import Count

    from gallery.models import Job

    started = time.monotonic()
    jobs = Job.objects.filter(workspace_id=stack.seeded.workspace_id)
    while any(job.is_active for job in jobs.all()):
        if time.monotonic() - started > DRAIN_SECONDS:
            break
        time.sleep(0.5)
    drained = time.monotonic() - started
    states = dict(jobs.values_list("state").annotate(n=Count("pk")).order_by("state"))
    in_database = jobs.filter(pk__in=submitted).count()
    succeeded = jobs.filter(pk__in=submitted, state="succeeded").count()
    connections.close_all()
    charged = int(stack.sandbox.counters()["images_charged"])
    return Jobs(len(submitted), in_database, succeeded, states, charged, drained)


def report(
    stack: LoadStack,
    result: LocustResult,
    jobs: Jobs,
    *,
    load: tuple[float, float],
    users: int,
    seconds: int,
) -> str:
    note = (
        f"`python -m tests.load`, {CPUS} CPUs (load average "
        f"{load[0]:.1f} before locust, {load[1]:.1f} after); gunicorn "
        f"{WEB_WORKERS} processes of {WEB_THREADS} threads with config/gunicorn.py (as "
        "`make prod`), `DEBUG=false`, whitenoise with the "
        f"manifest storage; one Celery worker, concurrency {WORKER_CONCURRENCY}, and beat; "
        f"{stack.images:,} images seeded in {stack.seed_seconds:.1f} s; every session opened "
        f"the gallery once before locust started (not counted). Locust: {users} "
        f"users (spawn {SPAWN_RATE}/s) for {seconds} s, each waiting 1 to 3 s between actions "
        "and fetching the first 12 thumbnails of each gallery page (the other 36 on scrolling "
        "to the next page); "
        f"{CREATORS} of them submit {JOBS} jobs through the generate form (sandbox generate "
        f"latency {GENERATE_LATENCY:g} s) and poll each job card every 2 s until it ends."
    )
    pages = table(
        f"Load, {stack.stack_note}",
        note,
        ["request", "requests", "failures", "req/s", "p50 ms", "p95 ms", "p99 ms"],
        [
            [p.name, f"{p.requests:,}", p.failures, f"{p.rps:.1f}", p.p50, p.p95, p.p99]
            for p in [*result.pages, result.total]
        ],
    ).replace("| Aggregated |", "| **all** |")
    states = ", ".join(f"{n} {state}" for state, n in jobs.states.items()) or "none"
    outcome = table(
        "Jobs",
        "submitted during the run, then read from the database once none was active "
        f"(waited {jobs.drain_seconds:.1f} s after locust stopped); target: every one succeeded.",
        ["submitted", "in the database", "succeeded", "lost", "all jobs by state", "charged"],
        [
            [
                jobs.submitted,
                jobs.in_database,
                jobs.succeeded,
                jobs.lost,
                states,
                f"{jobs.charged} images",
            ]
        ],
    )
    failures = "".join(f"\n- {line}" for line in result.errors)
    return f"{pages}\n\n{outcome}\n" + (f"\nFailures:{failures}\n" if failures else "")
