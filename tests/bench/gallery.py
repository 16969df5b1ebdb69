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
import datetime as dt
import io
import os
import random
import re
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tests.bench.report import table

if TYPE_CHECKING:
    from django.http import HttpRequest, HttpResponse
    from django.test import Client

ROOT = Path(__file__).resolve().parents[2]
PAGE = 48
DEEP_PAGE = 1_000
POSTGRES_SERVER = os.environ.get("BENCH_POSTGRES_SERVER", "postgres://postgres@127.0.0.1:5432")
POSTGRES_DB = "darkroom_bench"
SEARCH = "lighthouse"
SUBJECTS = [
    "lighthouse", "fox", "city skyline", "forest path", "portrait", "robot", "teapot", "harbour",
    "mountain lake", "bicycle", "cathedral", "desert road",
]  # fmt: skip
STYLES = ["at dusk", "in watercolour", "as a linocut", "in fog", "at noon", "in neon light"]
MODELS = ["nano-banana-2", "flux-pro", "seedream-4"]
# Most images are never reviewed; of those that are, most get approved.
REVIEW_WEIGHTS = {"unreviewed": 60, "approved": 25, "rejected": 10, "needs_changes": 5}


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


# --- Seeding --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Seeded:
    workspace_id: int
    slug: str
    member_id: int
    author_ids: list[int]
    seconds: float


def _seed(count: int) -> Seeded:
    from django.db import connection

    from accounts.models import Role
    from gallery.models import Image, QuotaSnapshot
    from tests.factories import MembershipFactory, WorkspaceFactory

    started = time.perf_counter()
    workspace = WorkspaceFactory(name="Bench", slug="bench")
    # Another team's images interleaved with ours (a quarter as many), as on a shared server:
    # the planner must pick the (workspace, created_at, id) index, not just any on created_at.
    elsewhere = WorkspaceFactory(name="Elsewhere", slug="elsewhere")
    authors = [
        MembershipFactory(workspace=workspace, role=Role.MEMBER).user for _ in range(4)
    ]  # the first one is the member who browses
    # Without a quota report the first page view would ask the provider for one.
    QuotaSnapshot.objects.create(workspace=workspace, kind="credits", monthly_available=100)
    rng = random.Random(12)
    states = list(REVIEW_WEIGHTS)
    weights = list(REVIEW_WEIGHTS.values())
    # One image every ~5 minutes on average, ending now; a few share an instant (a job's batch).
    moment = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5 * count)
    created_at = Image._meta.get_field("created_at")
    created_at.auto_now_add = False  # type: ignore[attr-defined]  # keep the seeded times
    try:
        for start in range(0, count, 5_000):
            batch = []
            for i in range(start, min(start + 5_000, count)):
                if rng.random() > 0.1:
                    moment += dt.timedelta(seconds=rng.randint(1, 600))
                subject, style = rng.choice(SUBJECTS), rng.choice(STYLES)
                if i % 4 == 0:
                    batch.append(
                        Image(
                            workspace=elsewhere,
                            prompt=f"a {subject} {style}, elsewhere {i}",
                            provider_image_id=f"other-{i}",
                            thumbnail=f"images/{elsewhere.pk}/{i}.thumb.webp",
                            created_at=moment,
                        )
                    )
                batch.append(
                    Image(
                        workspace=workspace,
                        author=authors[i % len(authors)],
                        source="history" if i % 5 == 0 else "job",
                        provider="sandbox",
                        prompt=f"a {subject} {style}, picture {i}",
                        model_id=MODELS[i % len(MODELS)],
                        provider_image_id=f"img-{i}",
                        file=f"images/{workspace.pk}/{i}.png",
                        thumbnail=f"images/{workspace.pk}/{i}.thumb.webp",
                        width=1024,
                        height=768 if i % 3 else 1024,
                        format="png",
                        bytes=1_500_000,
                        created_at=moment,
                        review_state=rng.choices(states, weights)[0],
                    )
                )
            Image.objects.bulk_create(batch)
    finally:
        created_at.auto_now_add = True  # type: ignore[attr-defined]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE gallery_image")
    return Seeded(
        workspace.pk,
        workspace.slug,
        authors[0].pk,
        [a.pk for a in authors],
        time.perf_counter() - started,
    )


def _thumbnail_bytes() -> bytes:
    """A thumbnail like the real ones: 384 px wide, noisy enough to weigh ~20 kB in WebP."""
    from PIL import Image as PILImage

    rng = random.Random(5)
    picture = PILImage.frombytes(
        "RGB", (96, 72), bytes(rng.randrange(256) for _ in range(96 * 72 * 3))
    )
    out = io.BytesIO()
    picture.resize((384, 288)).save(out, "WEBP", quality=80)
    return out.getvalue()


# --- The bare view: the same rows, no login, a trivial template -------------------------------

_BARE = None


def bare_page(request: HttpRequest, workspace_id: int) -> HttpResponse:
    from django.db.models.expressions import RawSQL
    from django.db.models.fields import BooleanField
    from django.http import HttpResponse
    from django.template import engines

    from gallery.filters import prompt_matches
    from gallery.models import Image

    global _BARE
    if _BARE is None:
        _BARE = engines["django"].from_string(
            "<!doctype html><title>bare</title><ul>{% for image in images %}<li>"
            '<img src="/media/{{ image.thumbnail.name }}" alt="{{ image.prompt }}" '
            'width="{{ image.width }}" height="{{ image.height }}">{{ image.prompt }} '
            "{{ image.created_at }}</li>{% endfor %}</ul>"
        )
    # By id, as the gallery's own query (its membership lookup has the workspace already).
    images = Image.objects.filter(workspace_id=workspace_id, deleted_at__isnull=True)
    if request.GET.get("review"):
        images = images.filter(review_state=request.GET["review"])
    if request.GET.get("author"):
        images = images.filter(author_id=int(request.GET["author"]))
    if request.GET.get("q"):
        images = images.filter(prompt_matches(request.GET["q"]))
    if request.GET.get("after"):
        micros, _, pk = request.GET["after"].partition("-")
        created = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=int(micros))
        from django.db import connection

        images = images.filter(
            RawSQL(
                '("gallery_image"."created_at", "gallery_image"."id") < (%s, %s)',
                (connection.ops.adapt_datetimefield_value(created), int(pk)),
                output_field=BooleanField(),
            )
        )
    rows = list(images.order_by("-created_at", "-id")[:PAGE])
    return HttpResponse(_BARE.render({"images": rows}))


def _urlpatterns() -> list[object]:
    from django.contrib.auth.decorators import login_required
    from django.urls import path

    from config.urls import urlpatterns

    return [
        path("bare/<int:workspace_id>/", bare_page),
        # The same, behind the login every gallery page needs: the session and the user.
        path("bare-signed-in/<int:workspace_id>/", login_required(bare_page)),
        *urlpatterns,
    ]


urlpatterns: list[object] = []  # filled in by _run (ROOT_URLCONF points here then)


# --- Measuring ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timing:
    name: str
    app_ms: float
    bare_ms: float
    app_queries: int
    bare_queries: int
    rows: int
    # The fastest round of each: less disturbed by other work on a shared machine.
    app_best_ms: float
    bare_best_ms: float

    @property
    def ratio(self) -> float:
        return self.app_ms / self.bare_ms

    @property
    def best_ratio(self) -> float:
        return self.app_best_ms / self.bare_best_ms


def _get(
    client: Client, url: str, params: dict[str, str], headers: dict[str, str] | None = None
) -> bytes:
    response = client.get(url, params, headers=headers)
    if response.status_code != 200:
        raise RuntimeError(f"{url} {params}: {response.status_code}")
    if response.streaming:
        return b"".join(response.streaming_content)  # type: ignore[arg-type]
    return response.content


def _queries(fn: Callable[[], object]) -> tuple[int, list[str]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        fn()
    return len(captured.captured_queries), [q["sql"] for q in captured.captured_queries]


def _median_ms(fn: Callable[[], object], rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def _compare(
    name: str,
    member: Client,
    anonymous: Client,
    seeded: Seeded,
    params: dict[str, str],
    rounds: int,
    *,
    htmx: bool = False,
) -> tuple[Timing, list[str]]:
    from django.urls import reverse

    app_url = reverse("gallery:home", args=[seeded.slug])
    bare_url = f"/bare/{seeded.workspace_id}/"
    # What infinite scroll asks for: just the next tiles, no page around them.
    headers = {"HX-Request": "true"} if htmx else None
    html = _get(member, app_url, params, headers).decode()
    bare_html = _get(anonymous, bare_url, params).decode()
    rows = html.count('class="tile"')
    if rows != bare_html.count("<li>"):
        raise RuntimeError(f"{name}: the gallery shows {rows} rows, the bare view another number")
    app_queries, sql = _queries(lambda: _get(member, app_url, params, headers))
    bare_queries, _ = _queries(lambda: _get(anonymous, bare_url, params))
    # Interleaved rounds, so that a burst of load from elsewhere hits both alike.
    app, bare = [], []
    for _ in range(rounds):
        app.append(_median_ms(lambda: _get(member, app_url, params, headers), 1))
        bare.append(_median_ms(lambda: _get(anonymous, bare_url, params), 1))
    timing = Timing(
        name,
        statistics.median(app),
        statistics.median(bare),
        app_queries,
        bare_queries,
        rows,
        min(app),
        min(bare),
    )
    return timing, sql


def _explain(sql: str) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"EXPLAIN (ANALYZE, COSTS OFF, TIMING ON) {sql}")
            return "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
        return "\n".join(str(row[-1]) for row in cursor.fetchall())


def _plan_summary(plan: str) -> str:
    """Which index the images come from, and whether anything is sorted or scanned whole."""
    used = re.findall(
        r"(?:Index Scan(?: Backward)?|Bitmap Index Scan) (?:using|on) (\w+)(?: on gallery_image)?"
        r"|SEARCH gallery_image USING (?:COVERING )?INDEX (\w+)",
        plan,
    )
    names = [a or b for a, b in used if (a or b).startswith(("image_", "gallery_image"))]
    summary = ", ".join(dict.fromkeys(names)) or "no index"
    if re.search(r"Seq Scan on gallery_image|SCAN gallery_image", plan):
        summary += ", whole table scanned"
    if re.search(r"Sort|TEMP B-TREE", plan):
        summary += ", sorted"
    return summary


def _page_query(sql: list[str]) -> str:
    (query,) = [q for q in sql if f"LIMIT {PAGE + 1}" in q]
    return query


def _thumbnails(
    member: Client, anonymous: Client, page_html: str, static_names: list[str], rounds: int
) -> list[tuple[str, float, int]]:
    from django.urls import reverse

    signed = re.findall(r'src="(/t/[^"]+)"', page_html)
    if len(signed) != PAGE:
        raise RuntimeError(f"page 1 shows {len(signed)} signed thumbnail URLs, not {PAGE}")
    checked = [
        reverse("gallery:image_thumbnail", args=["bench", int(pk)])
        for pk in re.findall(r'href="/w/bench/images/(\d+)/"', page_html)
    ]
    static = [f"/static/{name}" for name in static_names]

    def fetch_all(client: Client, urls: list[str]) -> Callable[[], None]:
        def fetch() -> None:
            for url in urls:
                _get(client, url, {})

        return fetch

    cases = [
        ("whitenoise, 48 static files", fetch_all(anonymous, static)),
        ("signed URLs (the fast path)", fetch_all(member, signed)),
        ("membership-checked URLs (before)", fetch_all(member, checked)),
    ]
    queries = []
    for _, fetch in cases:
        fetch()  # warm up
        queries.append(_queries(fetch)[0])
    # Interleaved rounds, as for the pages.
    samples: list[list[float]] = [[] for _ in cases]
    for _ in range(rounds):
        for i, (_, fetch) in enumerate(cases):
            samples[i].append(_median_ms(fetch, 1))
    return [
        (name, statistics.median(times), count)
        for (name, _), times, count in zip(cases, samples, queries, strict=True)
    ]


def _run(db: str, *, images: int, rounds: int, static_root: Path, profile: bool) -> None:
    from django.conf import settings
    from django.core.files.storage import default_storage
    from django.db import connection
    from django.test import Client, override_settings

    from accounts.models import User
    from gallery.models import Image
    from gallery.selectors import image_cursor

    _progress(f"{db}: seeding {images:,} images")
    seeded = _seed(images)
    _progress(f"{db}: seeded in {seeded.seconds:.1f} s; measuring")
    # 48 thumbnails for page 1, and 48 static files of the same bytes for whitenoise to serve
    # (it lists STATIC_ROOT when the first request builds the middleware, so before that).
    thumb = _thumbnail_bytes()
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

    urlpatterns[:] = _urlpatterns()
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
    with override_settings(ROOT_URLCONF=__name__):
        for name, params, htmx in cases:
            _progress(f"{db}: {name}")
            timing, sql = _compare(name, member, anonymous, seeded, params, rounds, htmx=htmx)
            timings.append(timing)
            if not plans:
                page_one_sql = sql
            plans.append((name, _explain(_page_query(sql))))
        page_html = _get(member, f"/w/{seeded.slug}/", {}).decode()
        split = [
            (name, _breakdown(lambda c=client, u=url: _get(c, u, {}), rounds))  # type: ignore[misc]
            for name, client, url in (
                ("gallery", member, f"/w/{seeded.slug}/"),
                ("bare, signed in", member, f"/bare-signed-in/{seeded.workspace_id}/"),
                ("bare", anonymous, f"/bare/{seeded.workspace_id}/"),
            )
        ]
        if profile:
            _profile(lambda: _get(member, f"/w/{seeded.slug}/", {}), rounds)
        _progress(f"{db}: thumbnails")
        thumbs = _thumbnails(member, anonymous, page_html, static_names, rounds)

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
                    _plan_summary(plan),
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
    print("\n".join(f"{i}. `{_shorten(q)}`" for i, q in enumerate(page_one_sql, 1)), end="\n\n")
    for name, plan in plans:
        print(f"Plan of the page query, {name} ({label}):\n\n```\n{plan}\n```\n")
    sys.stdout.flush()


def _breakdown(fn: Callable[[], object], rounds: int) -> tuple[float, float, float, float]:
    """Median ms of the total, SQL, template rendering without its SQL, and everything else."""
    from django.db import connection
    from django.template.backends.django import Template

    spent = {"sql": 0.0, "render": 0.0}

    def timed_sql(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent["sql"] += time.perf_counter() - started

    original = Template.render

    def timed_render(self, context=None, request=None):  # type: ignore[no-untyped-def]
        started, sql_before = time.perf_counter(), spent["sql"]
        try:
            return original(self, context, request)
        finally:
            sql_inside = spent["sql"] - sql_before
            spent["render"] += time.perf_counter() - started - sql_inside

    rows = []
    Template.render = timed_render  # type: ignore[method-assign]
    try:
        with connection.execute_wrapper(timed_sql):
            for _ in range(rounds):
                spent.update(sql=0.0, render=0.0)
                started = time.perf_counter()
                fn()
                total = time.perf_counter() - started
                rest = total - spent["sql"] - spent["render"]
                rows.append((total, spent["sql"], spent["render"], rest))
    finally:
        Template.render = original  # type: ignore[method-assign]
    total, sql, render, rest = (
        statistics.median(column) * 1000 for column in zip(*rows, strict=True)
    )
    return total, sql, render, rest


def _profile(fn: Callable[[], object], rounds: int) -> None:
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(rounds):
        fn()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
    stats.print_stats(r"wt-bench/(accounts|gallery|config)/|sessions|auth/|middleware|signing", 60)
    print(f"Profile of {rounds} requests for page 1:\n\n```\n{out.getvalue()}\n```\n")


def _shorten(sql: str, width: int = 110) -> str:
    """`SELECT … FROM <the rest>`, cut at `width`: which table, and which conditions."""
    depth = 0
    for i, char in enumerate(sql):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0 and sql.startswith(" FROM ", i):
            sql = f"SELECT …{sql[i:]}"
            break
    return sql if len(sql) <= width else sql[: width - 1] + "…"


def _sqlite_version() -> str:
    import sqlite3

    return sqlite3.sqlite_version


if __name__ == "__main__":
    main(sys.argv[1:])
