"""What the load test's simulated users ask for, and what they read out of Darkroom's pages.

Neither Django nor locust here: the locustfile imports this in locust's own (gevent-patched)
process, and `tests/load/test_paths.py` checks every path built here against Django's URLconf,
and every extractor against real pages, so a renamed route or a changed tile cannot make the
load test measure 404s in silence.
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlencode, urlsplit

# How the locustfile hands its numbers over: one line on its output, then JSON.
RESULT_LINE = "LOAD_RESULT="

# The only hosts `make load` may be pointed at: this machine, never a server people use.
LOOPBACK_HOSTS = frozenset({"127.0.0.1"})

# The gallery filters (gallery.filters) people try: a review state, a search, their own images
# of one model (the seeded data has all of these: tests/bench/gallery_seed.py).
FILTERS: tuple[dict[str, str], ...] = (
    *({"review": state} for state in ("approved", "rejected", "needs_changes", "unreviewed")),
    *({"q": word} for word in ("lighthouse", "fox", "watercolour", "harbour")),
    *({"model": model, "author": "me"} for model in ("nano-banana-2", "flux-pro", "seedream-4")),
)


def refuse_unless_loopback(host: str) -> None:
    """Raise unless `host` (http://127.0.0.1:PORT) is this machine's loopback address."""
    parts = urlsplit(host)
    if parts.scheme != "http" or parts.hostname not in LOOPBACK_HOSTS:
        raise ValueError(
            f"The load test runs only against http://127.0.0.1:<port>, not {host!r}: "
            "it must never be pointed at a server people use."
        )


def gallery(slug: str, **filters: str) -> str:
    query = urlencode(filters)
    return f"/w/{slug}/" + (f"?{query}" if query else "")


def generate(slug: str) -> str:
    return f"/w/{slug}/generate/"


def image_page(slug: str, image_id: int) -> str:
    return f"/w/{slug}/images/{image_id}/"


def job_card(slug: str, job_id: int) -> str:
    return f"/w/{slug}/jobs/{job_id}/"


def next_page(page: str) -> str | None:
    """The infinite scroll's next-page URL (keyset cursor included) from a gallery page."""
    found = re.search(r'<div class="grid-more" hx-get="([^"]+)"', page)
    return html.unescape(found[1]) if found else None


def thumbnails(page: str) -> list[str]:
    """The signed `/t/<token>/` thumbnail URLs a gallery page hands out, in page order."""
    return list(dict.fromkeys(re.findall(r'<img src="(/t/[^"]+)"', page)))


def image_ids(page: str, slug: str) -> list[int]:
    """The images a gallery page's tiles open, in page order."""
    found = re.findall(rf'class="tile-link" href="/w/{re.escape(slug)}/images/(\d+)/', page)
    return list(dict.fromkeys(int(pk) for pk in found))


def submitted_job(workbench: str, prompt: str) -> int | None:
    """The job a submit made, from the queue the generate form gets back: the card with this
    (unique) prompt; the newest card may be someone else's, submitted at the same moment."""
    found = re.search(
        rf'<article id="job-(\d+)"(?:(?!</article>).)*?title="{re.escape(html.escape(prompt))}"',
        workbench,
        re.DOTALL,
    )
    return int(found[1]) if found else None


def job_still_polling(card: str) -> bool:
    """A job card asks to be polled again only while its job is queued or running."""
    return 'hx-trigger="every 2s"' in card
