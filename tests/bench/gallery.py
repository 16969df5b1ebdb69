"""The gallery at 100,000 images (issue 12), on SQLite and on PostgreSQL.

Each database gets a fresh copy (a temp SQLite file; `darkroom_bench` on the local PostgreSQL,
created and dropped), seeded with `bulk_create`. A signed-in member then asks for gallery pages
through Django's test Client, each timed against a bare Django view of the same 48 rows (a plain
queryset, a trivial template, no login) in the same run; then 48 thumbnails through the signed
fast path against whitenoise serving 48 static files of the same size.

    uv run python -m tests.bench gallery [--quick] [--db sqlite|postgresql]

`--quick` seeds 20,000 images and times fewer rounds. Each database runs in its own child
process, because Django's settings are read once per process.
"""

from __future__ import annotations

import argparse
import io
import os
import secrets
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from tests.bench.gallery_measure import (
    Timing,
    breakdown,
    compare,
    explain,
    fetch,
    page_query,
    plan_summary,
    profile_page,
    shorten,
    thumbnails,
)
from tests.bench.gallery_seed import PAGE, SEARCH, seed, thumbnail_bytes
from tests.bench.report import table

ROOT = Path(__file__).resolve().parents[2]
DEEP_PAGE = 1_000
POSTGRES_SERVER = os.environ.get("BENCH_POSTGRES_SERVER", "postgres://postgres@127.0.0.1:5432")
POSTGRES_DB = "darkroom_bench"


def _progress(message: str) -> None:
    print(f"gallery bench: {message}", file=sys.stderr, flush=True)


# --- The parent: one child process per database ---------------------------------------------


def main(argv: Sequence[str] = ()) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.bench gallery")
    parser.add_argument("--quick", action="store_true", help="20,000 images, fewer rounds")
    parser.add_argument(
        "--db",
        choices=["sqlite", "postgresql"],
        action="append",
        help="only this database (default: both)",
    )
    parser.add_argument(
        "--profile", action="store_true", help="print where page 1's time goes (cProfile)"
    )
    parser.add_argument("--child", choices=["sqlite", "postgresql"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    images = 20_000 if args.quick else 100_000
    rounds = 7 if args.quick else 15
    if args.child:
        _child(args.child, images=images, rounds=rounds, profile=args.profile)
        return
    print(f"\n### Gallery at {images:,} images\n")
    print(
        f"`python -m tests.bench gallery{' --quick' if args.quick else ''}`, "
        f"{os.cpu_count()} CPUs (load average {os.getloadavg()[0]:.1f} at the start); "
        f"medians of {rounds} interleaved rounds through Django's test Client "
        "(DEBUG off), a signed-in member; *bare* is a plain view rendering the same rows from a "
        "plain queryset with a trivial template, no login, in the same run.\n",
        flush=True,
    )
    for db in args.db or ["sqlite", "postgresql"]:
        if db == "postgresql" and not _postgres_reachable():
            print(
                f"PostgreSQL is not reachable at {POSTGRES_SERVER} "
                "(BENCH_POSTGRES_SERVER): skipped."
            )
            continue
        command = [sys.executable, "-m", "tests.bench.gallery", "--child", db]
        options = [*(["--quick"] if args.quick else []), *(["--profile"] if args.profile else [])]
        done = subprocess.run([*command, *options], cwd=ROOT, check=False)
        if done.returncode:
            raise SystemExit(f"gallery bench on {db} failed ({done.returncode})")


# --- The child: one database ----------------------------------------------------------------


def _child(db: str, *, images: int, rounds: int, profile: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="darkroom-gallery-bench-") as tmp_name:
        tmp = Path(tmp_name)
        if db == "postgresql":
            _recreate_postgres()
            url = f"{POSTGRES_SERVER}/{POSTGRES_DB}"
        else:
            url = f"sqlite:///{tmp}/bench.sqlite3"
        try:
            _setup_django(tmp, url)
            _run(db, images=images, rounds=rounds, static_root=tmp / "staticfiles", profile=profile)
        finally:
            if db == "postgresql":
                from django.db import connections

                connections.close_all()
                _drop_postgres()


def _admin_sql(statement: str) -> None:
    import psycopg

    with psycopg.connect(f"{POSTGRES_SERVER}/postgres", autocommit=True) as conn:
        conn.execute(statement)


def _postgres_reachable() -> bool:
    import psycopg

    try:
        psycopg.connect(f"{POSTGRES_SERVER}/postgres", connect_timeout=3).close()
    except psycopg.OperationalError:
        return False
    return True


def _recreate_postgres() -> None:
    _drop_postgres()
    _admin_sql(f"CREATE DATABASE {POSTGRES_DB}")


def _drop_postgres() -> None:
    _admin_sql(f"DROP DATABASE IF EXISTS {POSTGRES_DB} WITH (FORCE)")


def _setup_django(tmp: Path, database_url: str) -> None:
    """Production-like settings (DEBUG off, cached templates), nothing from a developer's .env."""
    from cryptography.fernet import Fernet

    os.environ.update(
        {
            "ENV_FILE": "",
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "CREDENTIAL_KEYS": Fernet.generate_key().decode(),
            "ALLOWED_HOSTS": "testserver",
            "SECURE_SSL_REDIRECT": "false",
            "SECURE_COOKIES": "false",
            "SECURE_HSTS_SECONDS": "0",
            "VAR_DIR": str(tmp),
            "MEDIA_ROOT": str(tmp / "media"),
            "STATIC_ROOT": str(tmp / "staticfiles"),
            "STATIC_STORAGE": "simple",
            "DATABASE_URL": database_url,
            "CACHE_URL": "locmem://",
            "CELERY_BROKER_URL": "memory://",
            "LOG_LEVEL": "WARNING",
            "DJANGO_SETTINGS_MODULE": "config.settings",
        }
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def _run(db: str, *, images: int, rounds: int, static_root: Path, profile: bool) -> None:
    from django.conf import settings
    from django.core.files.storage import default_storage
    from django.db import connection
    from django.test import Client, override_settings

    from accounts.models import User
    from gallery.models import Image
    from gallery.selectors import image_cursor

    _progress(f"{db}: seeding {images:,} images")
    seeded = seed(images)
    _progress(f"{db}: seeded in {seeded.seconds:.1f} s; measuring")
    # 48 thumbnails for page 1, and 48 static files of the same bytes for whitenoise to serve
    # (it lists STATIC_ROOT when the first request builds the middleware, so before that).
    thumb = thumbnail_bytes()
    newest = Image.objects.filter(workspace_id=seeded.workspace_id).order_by("-created_at", "-id")
    for name in newest.values_list("thumbnail", flat=True)[:PAGE]:
        default_storage.save(name, io.BytesIO(thumb))
    static_names = [f"bench/{i}.webp" for i in range(PAGE)]
    for name in static_names:
        (static_root / name).parent.mkdir(parents=True, exist_ok=True)
        (static_root / name).write_bytes(thumb)
    # Where the deep page starts: after the last row of the page before, read directly (one
    # OFFSET). Page 1,000 at 100,000 images; the last full page of a --quick run.
    deep = min(DEEP_PAGE, images // PAGE)
    cursor = image_cursor(newest[(deep - 1) * PAGE - 1])

    member, anonymous = Client(), Client()
    member.force_login(User.objects.get(pk=seeded.member_id))
    author = str(seeded.author_ids[1])
    deep_name = f"page {deep:,} (after {(deep - 1) * PAGE:,} rows)"
    cases = [
        ("page 1", {}, False),
        (deep_name, {"after": cursor}, False),
        (f"{deep_name}, htmx: the tiles only", {"after": cursor}, True),
        ("filtered: approved, one author", {"review": "approved", "author": author}, False),
        (f"searched: q={SEARCH}", {"q": SEARCH}, False),
    ]
    timings: list[Timing] = []
    page_one_sql: list[str] = []
    plans: list[tuple[str, str]] = []
    with override_settings(ROOT_URLCONF="tests.bench.gallery_bare"):
        for name, params, htmx in cases:
            _progress(f"{db}: {name}")
            timing, sql = compare(name, member, anonymous, seeded, params, rounds, htmx=htmx)
            timings.append(timing)
            if not plans:
                page_one_sql = sql
            plans.append((name, explain(page_query(sql))))
        page_html = fetch(member, f"/w/{seeded.slug}/", {}).decode()
        split = [
            (name, breakdown(lambda c=client, u=url: fetch(c, u, {}), rounds))  # type: ignore[misc]
            for name, client, url in (
                ("gallery", member, f"/w/{seeded.slug}/"),
                ("bare, signed in", member, f"/bare-signed-in/{seeded.workspace_id}/"),
                ("bare", anonymous, f"/bare/{seeded.workspace_id}/"),
            )
        ]
        if profile:
            profile_page(lambda: fetch(member, f"/w/{seeded.slug}/", {}), rounds)
        _progress(f"{db}: thumbnails")
        thumbs = thumbnails(member, anonymous, seeded.slug, page_html, static_names, rounds)

    engine = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    version = connection.pg_version if db == "postgresql" else None  # type: ignore[attr-defined]
    label = f"PostgreSQL {version // 10000}" if version else f"SQLite {_sqlite_version()}"
    print(
        table(
            f"{label}, {images:,} images",
            f"seeded with bulk_create in {seeded.seconds:.1f} s, with {images // 4:,} of another "
            f"workspace interleaved ({engine}); targets: "
            "≤ 1.5x the bare view, ≤ 6 queries.",
            [
                "page",
                "rows",
                "gallery ms",
                "bare ms",
                "ratio",
                "ratio of fastest",
                "queries (bare)",
                "page query plan",
            ],
            [
                [
                    t.name,
                    t.rows,
                    f"{t.app_ms:.1f}",
                    f"{t.bare_ms:.1f}",
                    f"{t.ratio:.2f}x",
                    f"{t.best_ratio:.2f}x",
                    f"{t.app_queries} ({t.bare_queries})",
                    plan_summary(plan),
                ]
                for t, (_, plan) in zip(timings, plans, strict=True)
            ],
        ),
        end="\n\n",
    )
    base = thumbs[0][1]
    print(
        table(
            "48 thumbnails",
            "fetched one after another by the signed-in member (whitenoise: anonymous); "
            "total ms for all 48, target ≤ 2x whitenoise.",
            ["served by", "total ms", "ratio", "queries"],
            [
                [name, f"{total:.1f}", f"{total / base:.2f}x", queries]
                for name, total, queries in thumbs
            ],
        ),
        end="\n\n",
    )
    print(
        table(
            "Where page 1's time goes",
            "medians; SQL is the database's time through the driver, rendering is the "
            "template's own time (queries it runs counted under SQL), the rest is the test "
            "Client, middleware, session, the view's Python and building the queries.",
            ["view", "total ms", "SQL ms", "rendering ms", "the rest ms"],
            [[name, *(f"{part:.1f}" for part in parts)] for name, parts in split],
        ),
        end="\n\n",
    )
    print(f"The {timings[0].app_queries} queries of page 1:\n")
    print("\n".join(f"{i}. `{shorten(q)}`" for i, q in enumerate(page_one_sql, 1)), end="\n\n")
    for name, plan in plans:
        print(f"Plan of the page query, {name} ({label}):\n\n```\n{plan}\n```\n")
    sys.stdout.flush()


def _sqlite_version() -> str:
    import sqlite3

    return sqlite3.sqlite_version


if __name__ == "__main__":
    main(sys.argv[1:])
