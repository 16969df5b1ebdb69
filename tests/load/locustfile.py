"""The load test's simulated people, for locust (started by `python -m tests.load`, never imported
into a Django process: locust patches the standard library with gevent on import).

Browsers page through the gallery (with and without filters, the next pages through the
keyset cursor the page hands out), fetch the thumbnails each page shows through its signed
`/t/<token>/` URLs, and open images as a page and in the lightbox. Creators (a fixed number) also
submit jobs through the generate form and poll each job's card, as the page's htmx does, until
it ends. Everyone signs in with a session of a seeded member (LOAD_PLAN, a JSON file written by
`tests/load/run.py`): many people share a few accounts, each with a session of their own.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import uuid
from typing import Any

import gevent
from locust import HttpUser, between, events
from locust.env import Environment
from locust.runners import STATE_RUNNING, STATE_SPAWNING
from locust.stats import StatsEntry

from tests.load import paths

with open(os.environ["LOAD_PLAN"], encoding="utf-8") as _file:
    PLAN: dict[str, Any] = json.load(_file)
SLUG: str = PLAN["slug"]
# How many thumbnails of a page a person's screen shows at first (the tiles load lazily; the rest
# when they scroll on to the next page).
THUMBNAILS_PER_SCREEN = 12
JOB_POLL_SECONDS = 2.0  # the job card's hx-trigger
HTMX = {"HX-Request": "true"}

_sessions = itertools.cycle(PLAN["sessions"])
_requests = itertools.count(1)
_jobs_left = [PLAN["jobs"]]
submitted: list[int] = []
watched: set[int] = set()  # submitted jobs whose card has been polled at least once


@events.init.add_listener
def _only_loopback(environment: Environment, **_: Any) -> None:
    """Before anyone starts; SystemExit, because locust logs any Exception from a listener and
    carries on."""
    try:
        paths.refuse_unless_loopback(environment.host or "")
    except ValueError as refused:
        raise SystemExit(str(refused)) from None


@events.init.add_listener
def _bounded(environment: Environment, **_: Any) -> None:
    """Stop everyone once the plan's request count is reached (the run time is the other bound)."""

    def count(**_: Any) -> None:
        if next(_requests) == PLAN["max_requests"] and environment.runner is not None:
            gevent.spawn(environment.runner.quit)  # not from inside a user being stopped

    environment.events.request.add_listener(count)


@events.quitting.add_listener
def _report(environment: Environment, **_: Any) -> None:
    """The numbers for tests/load/run.py, however the run ended (locust's own CSV files are
    empty when the request count stops it)."""
    stats = environment.stats
    result = {
        "submitted": submitted,
        "pages": [_numbers(entry) for entry in stats.entries.values()],
        "total": _numbers(stats.total),
        "errors": [
            f"{error.method} {error.name}, {error.occurrences} times: {error.error}"
            for error in stats.errors.values()
        ],
    }
    print(f"{paths.RESULT_LINE}{json.dumps(result)}", flush=True)


def _numbers(entry: StatsEntry) -> dict[str, Any]:
    def ms(share: float) -> float | None:
        return entry.get_response_time_percentile(share) if entry.num_requests else None

    return {
        "name": entry.name,
        "requests": entry.num_requests,
        "failures": entry.num_failures,
        "rps": entry.total_rps,
        "p50": ms(0.5),
        "p95": ms(0.95),
        "p99": ms(0.99),
    }


class Person(HttpUser):
    """Someone signed in, browsing the gallery; what they do and how often: Browser, Creator."""

    abstract = True
    wait_time = between(1, 3)

    def on_start(self) -> None:
        self.client.cookies.set(PLAN["session_cookie"], next(_sessions))
        self.page: str | None = None  # the gallery page last seen (for the next page)
        self.seen: list[int] = []  # images that page showed
        self.below: list[str] = []  # its thumbnails below the first screen, not fetched yet
        self.gallery_page()

    def _get(self, url: str, name: str, *, htmx: dict[str, str] | None = None) -> str | None:
        with self.client.get(url, name=name, headers=htmx, catch_response=True) as response:
            if response.status_code != 200 or not response.content:
                why = f" ({response.error})" if response.error else ""
                response.failure(f"{response.status_code} for {url}{why}")
                return None
            return response.text

    def _thumbnails(self, urls: list[str]) -> None:
        for url in urls:
            self._get(url, "thumbnail (signed /t/ URL)")

    def _show(self, page: str | None) -> None:
        """What a browser does with a gallery page: remember it, fetch the first screen's
        thumbnails."""
        if page is None:
            return
        self.page = page
        self.seen = paths.image_ids(page, SLUG) or self.seen
        thumbnails = paths.thumbnails(page)
        self._thumbnails(thumbnails[:THUMBNAILS_PER_SCREEN])
        self.below = thumbnails[THUMBNAILS_PER_SCREEN:]

    def gallery_page(self) -> None:
        self._show(self._get(paths.gallery(SLUG), "gallery, page 1"))

    def filtered(self) -> None:
        filters = random.choice(paths.FILTERS)
        self._show(self._get(paths.gallery(SLUG, **filters), "gallery, filtered"))

    def next_page(self) -> None:
        url = paths.next_page(self.page) if self.page else None
        if url is None:
            self.gallery_page()
            return
        # Scrolling down shows the rest of this page; at its end htmx asks for the next tiles.
        self._thumbnails(self.below)
        self._show(self._get(url, "gallery, next page (htmx)", htmx=HTMX))

    def image_page(self) -> None:
        if self.seen:
            self._get(paths.image_page(SLUG, random.choice(self.seen)), "image page")

    def lightbox(self) -> None:
        if self.seen:
            url = paths.image_page(SLUG, random.choice(self.seen))
            self._get(url, "lightbox (htmx)", htmx={**HTMX, "HX-Target": "lightbox"})


# How often a browsing person does what, per action.
BROWSING = {
    Person.gallery_page: 4,
    Person.filtered: 3,
    Person.next_page: 4,
    Person.image_page: 2,
    Person.lightbox: 3,
}


class Browser(Person):
    tasks = BROWSING


class Creator(Person):
    """Submits the plan's jobs one after another, watching each card until the job ends; then
    browses like everyone else."""

    fixed_count = PLAN["creators"]

    def on_start(self) -> None:
        super().on_start()
        self._get(paths.generate(SLUG), "generate page")
        self.client.headers["X-CSRFToken"] = self.client.cookies.get("csrftoken", "")

    def submit_or_browse(self) -> None:
        if _jobs_left[0] > 0:
            self.submit_and_watch()
        else:
            (action,) = random.choices(list(BROWSING), weights=list(BROWSING.values()))
            action(self)

    tasks = [submit_or_browse]

    def submit_and_watch(self) -> None:
        _jobs_left[0] -= 1
        prompt = f"a lighthouse at dusk, load test {uuid.uuid4().hex[:8]}"
        data = {
            "prompt": prompt,
            "model": PLAN["model"],
            "n": "1",
            "aspect_ratio": "1:1",
            "output_format": "png",
            "idempotency_key": uuid.uuid4().hex,
        }
        url = paths.generate(SLUG)
        with self.client.post(
            url, data=data, headers=HTMX, name="submit (generate form)", catch_response=True
        ) as response:
            ok = response.status_code == 200
            job_id = paths.submitted_job(response.text, prompt) if ok else None
            if job_id is None:
                response.failure(f"{response.status_code}: the submit made no job")
                return
        submitted.append(job_id)
        polling = True
        while polling:
            gevent.sleep(JOB_POLL_SECONDS)
            runner = self.environment.runner
            if runner and runner.state not in (STATE_SPAWNING, STATE_RUNNING):
                return  # the run is over; the database says how the job ends
            card = self._get(paths.job_card(SLUG, job_id), "job card poll (htmx)", htmx=HTMX)
            polling = card is not None and paths.job_still_polling(card)
            self._seen_job(job_id)

    def _seen_job(self, job_id: int) -> None:
        """With the plan's `end_when_watched`, the run ends once every planned job has been
        submitted and its card polled (a check of the paths that does not hang on the clock)."""
        watched.add(job_id)
        runner = self.environment.runner
        done = _jobs_left[0] == 0 and watched >= set(submitted)
        if PLAN.get("end_when_watched") and done and runner is not None:
            gevent.spawn(runner.quit)
