"""The gallery bench's data: images spread over authors, models, review states and time."""

from __future__ import annotations

import datetime as dt
import io
import random
import time
from dataclasses import dataclass

PAGE = 48  # the gallery's page size
SEARCH = "lighthouse"
SUBJECTS = [
    "lighthouse", "fox", "city skyline", "forest path", "portrait", "robot", "teapot", "harbour",
    "mountain lake", "bicycle", "cathedral", "desert road",
]  # fmt: skip
STYLES = ["at dusk", "in watercolour", "as a linocut", "in fog", "at noon", "in neon light"]
MODELS = ["nano-banana-2", "flux-pro", "seedream-4"]
# Most images are never reviewed; of those that are, most get approved.
REVIEW_WEIGHTS = {"unreviewed": 60, "approved": 25, "rejected": 10, "needs_changes": 5}


@dataclass(frozen=True)
class Seeded:
    workspace_id: int
    slug: str
    member_id: int
    author_ids: list[int]
    seconds: float


def seed(count: int) -> Seeded:
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


def thumbnail_bytes() -> bytes:
    """A thumbnail like the real ones: 384 px wide, noisy enough to weigh ~20 kB in WebP."""
    from PIL import Image as PILImage

    rng = random.Random(5)
    picture = PILImage.frombytes(
        "RGB", (96, 72), bytes(rng.randrange(256) for _ in range(96 * 72 * 3))
    )
    out = io.BytesIO()
    picture.resize((384, 288)).save(out, "WEBP", quality=80)
    return out.getvalue()
