"""The gallery bench's measurements: timed requests, query counts, plans, a time breakdown."""

from __future__ import annotations

import io
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from tests.bench.gallery_seed import PAGE, Seeded

if TYPE_CHECKING:
    from django.test import Client


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


def fetch(
    client: Client, url: str, params: dict[str, str], headers: dict[str, str] | None = None
) -> bytes:
    response = client.get(url, params, headers=headers)
    if response.status_code != 200:
        raise RuntimeError(f"{url} {params}: {response.status_code}")
    if response.streaming:
        return b"".join(response.streaming_content)  # type: ignore[arg-type]
    return response.content


def shown_images(html: str, slug: str) -> list[int]:
    """The images a gallery page links to, in its order (whatever the tiles' markup)."""
    found = re.findall(rf'href="/w/{re.escape(slug)}/images/(\d+)/', html)
    return list(dict.fromkeys(int(pk) for pk in found))


def count_queries(fn: Callable[[], object]) -> tuple[int, list[str]]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        fn()
    return len(captured.captured_queries), [q["sql"] for q in captured.captured_queries]


def median_ms(fn: Callable[[], object], rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def compare(
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
    html = fetch(member, app_url, params, headers).decode()
    bare_html = fetch(anonymous, bare_url, params).decode()
    shown = shown_images(html, seeded.slug)
    if shown != [int(pk) for pk in re.findall(r'<li data-image="(\d+)"', bare_html)]:
        raise RuntimeError(f"{name}: the gallery and the bare view show different images")
    rows = len(shown)
    app_queries, sql = count_queries(lambda: fetch(member, app_url, params, headers))
    bare_queries, _ = count_queries(lambda: fetch(anonymous, bare_url, params))
    # Interleaved rounds, so that a burst of load from elsewhere hits both alike.
    app, bare = [], []
    for _ in range(rounds):
        app.append(median_ms(lambda: fetch(member, app_url, params, headers), 1))
        bare.append(median_ms(lambda: fetch(anonymous, bare_url, params), 1))
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


def explain(sql: str) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"EXPLAIN (ANALYZE, COSTS OFF, TIMING ON) {sql}")
            return "\n".join(row[0] for row in cursor.fetchall())
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}")
        return "\n".join(str(row[-1]) for row in cursor.fetchall())


def plan_summary(plan: str) -> str:
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


def page_query(sql: list[str]) -> str:
    (query,) = [q for q in sql if f"LIMIT {PAGE + 1}" in q]
    return query


def thumbnails(
    member: Client,
    anonymous: Client,
    slug: str,
    page_html: str,
    static_names: list[str],
    rounds: int,
) -> list[tuple[str, float, int]]:
    from django.urls import reverse

    signed = re.findall(r'src="(/t/[^"]+)"', page_html)
    if len(signed) != PAGE:
        raise RuntimeError(f"page 1 shows {len(signed)} signed thumbnail URLs, not {PAGE}")
    checked = [
        reverse("gallery:image_thumbnail", args=[slug, pk]) for pk in shown_images(page_html, slug)
    ]
    static = [f"/static/{name}" for name in static_names]

    def fetch_all(client: Client, urls: list[str]) -> Callable[[], None]:
        def run() -> None:
            for url in urls:
                fetch(client, url, {})

        return run

    cases = [
        ("whitenoise, 48 static files", fetch_all(anonymous, static)),
        ("signed URLs (the fast path)", fetch_all(member, signed)),
        ("membership-checked URLs (before)", fetch_all(member, checked)),
    ]
    queries = []
    for _, run in cases:
        run()  # warm up
        queries.append(count_queries(run)[0])
    # Interleaved rounds, as for the pages.
    samples: list[list[float]] = [[] for _ in cases]
    for _ in range(rounds):
        for i, (_, run) in enumerate(cases):
            samples[i].append(median_ms(run, 1))
    return [
        (name, statistics.median(times), count)
        for (name, _), times, count in zip(cases, samples, queries, strict=True)
    ]


def breakdown(fn: Callable[[], object], rounds: int) -> tuple[float, float, float, float]:
    """Median ms of the total, SQL, template rendering without its SQL, and everything else."""
    from django.db import connection
    from django.template.backends.django import Template

    spent = {"sql": 0.0, "render": 0.0}
    # Templates rendered inside a template (a form's widgets) are already in the outer one's time.
    depth = [0]

    def timed_sql(execute, sql, params, many, context):  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent["sql"] += time.perf_counter() - started

    original = Template.render

    def timed_render(self, context=None, request=None):  # type: ignore[no-untyped-def]
        started, sql_before = time.perf_counter(), spent["sql"]
        depth[0] += 1
        try:
            return original(self, context, request)
        finally:
            depth[0] -= 1
            if not depth[0]:
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


def profile_page(fn: Callable[[], object], rounds: int) -> None:
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(rounds):
        fn()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).sort_stats("cumulative")
    # Darkroom's own functions, and Django's that a page's time often goes to.
    project = re.escape(str(Path(__file__).resolve().parents[2]))
    django = r"sessions|auth/|middleware|signing|defaultfilters|urls/base|template/(base|library)"
    stats.print_stats(rf"{project}/(accounts|gallery|config)/|{django}", 60)
    print(f"Profile of {rounds} requests for page 1:\n\n```\n{out.getvalue()}\n```\n")


def shorten(sql: str, width: int = 110) -> str:
    """`SELECT … FROM <the rest>`, cut at `width`: which table, and which conditions."""
    depth = 0
    for i, char in enumerate(sql):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0 and sql.startswith(" FROM ", i):
            sql = f"SELECT …{sql[i:]}"
            break
    return sql if len(sql) <= width else sql[: width - 1] + "…"
