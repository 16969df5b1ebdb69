"""Did a paid call whose answer we never got go through? The provider's history tells.

A job is reconciled when its stage is CALLED but no worker holds it: the answer timed out or came
back garbled, or the worker died mid-call. Its images, if the call ran, are in the provider's
history; adopting them is the only way not to pay twice. Adopting the wrong ones would give a job
another job's images (and author), so the rules are strict:

- only entries nobody has: not stored as an Image (a job's, or the history mirror's), and not in
  the batch another job recorded; an entry the mirror already put in the gallery is not taken
  from it, and since it may be ours, the job does not call again either;
- only entries made since the call started (less a slack for clock skew), with the same prompt
  and model, the same number of images, and the same parameters where the history shows them;
- when several batches qualify, the one made closest to the call's start, unless two are equally
  close; when another unanswered job asked for the same thing, nobody can tell which is whose;
- when nothing qualifies but an entry has the same prompt and model (only the count or the
  parameters differ), it may still be ours: nobody can tell either.

"Nobody can tell" fails the job with a pointer to the provider's history, rather than guess.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings

from gallery.models import Image, Job, JobStage
from providers import HistoryItem, ImageProvider

# Batches made this close together are equally likely to be ours.
TIE_SECONDS = 1.0
# The history is read newest first, back to the call's start; never more than this many pages.
MAX_PAGES = 20
PAGE_SIZE = 100
# Parameters compared when both the job and the history entry carry them.
COMPARED_PARAMETERS = ("aspect_ratio", "output_format", "size")


class Verdict(enum.Enum):
    FOUND = "found"  # one batch is ours: adopt it
    NOT_YET = "not_yet"  # nothing yet; the call may still be running at the provider
    NEVER_RAN = "never_ran"  # nothing, long after the call: calling again is safe
    CANNOT_TELL = "cannot_tell"  # ours may be there, but which one is a guess


@dataclass(frozen=True)
class Batch:
    batch_id: str
    items: tuple[HistoryItem, ...]

    @property
    def created_at(self) -> dt.datetime | None:
        return min((i.created_at for i in self.items if i.created_at), default=None)


@dataclass(frozen=True)
class Finding:
    verdict: Verdict
    batch: Batch | None = None


def history_since(provider: ImageProvider, *, since: dt.datetime) -> list[HistoryItem]:
    """History entries made at or after `since`, newest first (network; raises ProviderError)."""
    found: list[HistoryItem] = []
    for number, page in enumerate(provider.history_pages(page_size=PAGE_SIZE), start=1):
        for item in page:
            if item.created_at is not None and item.created_at < since:
                return found
            found.append(item)
        if number >= MAX_PAGES:
            break
    return found


def window_start(job: Job) -> dt.datetime:
    assert job.called_at is not None
    return job.called_at - dt.timedelta(seconds=settings.JOB_RECONCILE_SLACK_SECONDS)


def judge(*, job: Job, items: Iterable[HistoryItem], now: dt.datetime) -> Finding:
    """Decide from the history read since the call (reads the database: hold the workspace's
    lock until the adoption is recorded, so that two jobs never adopt the same batch)."""
    assert job.called_at is not None
    same_request = [
        item
        for item in items
        if item.prompt == job.prompt and (item.model or job.model_id) == job.model_id
    ]
    free, mirrored = _free_batches(job, same_request)
    exact = [batch for batch in free if _fits(job, batch)]
    if exact:
        return Finding(Verdict.CANNOT_TELL) if _has_rival(job) else _closest(job, exact)
    if free or mirrored:
        # The same prompt and model, yet not exactly what we asked, or already in the gallery
        # from the history mirror: it may be ours, and calling again could pay twice.
        return Finding(Verdict.CANNOT_TELL)
    return Finding(Verdict.NOT_YET if now < conclusive_at(job) else Verdict.NEVER_RAN)


def conclusive_at(job: Job) -> dt.datetime:
    """By when the history surely shows whether the job's call ran."""
    assert job.called_at is not None
    wait = dt.timedelta(seconds=settings.JOB_RECONCILE_WAIT_SECONDS)
    return job.history_conclusive_at or job.called_at + wait


def _free_batches(job: Job, items: list[HistoryItem]) -> tuple[list[Batch], bool]:
    """The batches nobody has, and whether any entry was stored by the history mirror."""
    stored = dict(
        Image.objects.filter(
            workspace_id=job.workspace_id,
            provider_image_id__in={item.provider_image_id for item in items},
        ).values_list("provider_image_id", "job_id")
    )
    grouped: dict[str, list[HistoryItem]] = {}
    for item in items:
        # An entry without a batch id is a batch of its own.
        grouped.setdefault(item.batch_id or f"image:{item.provider_image_id}", []).append(item)
    recorded = set(
        Job.objects.filter(workspace_id=job.workspace_id, batch_id__in=grouped)
        .exclude(pk=job.pk)
        .values_list("batch_id", flat=True)
    )
    free: list[Batch] = []
    mirrored = False
    for key, group in grouped.items():
        if key in recorded or any(stored.get(i.provider_image_id) for i in group):
            continue  # another job's
        if any(i.provider_image_id in stored for i in group):
            mirrored = True
        else:
            free.append(Batch(key, tuple(group)))
    return free, mirrored


def _fits(job: Job, batch: Batch) -> bool:
    for item in batch.items:
        for key in COMPARED_PARAMETERS:
            ours, theirs = job.params.get(key), item.parameters.get(key)
            if ours and theirs and str(ours) != str(theirs):
                return False
        asked = item.parameters.get("num_images")
        if asked is not None and str(asked) != str(job.n_images):
            return False
    # A partial batch (the provider granted fewer) still says how many were asked for.
    asked_for = batch.items[0].parameters.get("num_images")
    return len(batch.items) == job.n_images or asked_for is not None


def _has_rival(job: Job) -> bool:
    """Another job whose call is also unanswered asked for the same thing at about that time."""
    assert job.called_at is not None
    span = dt.timedelta(
        seconds=settings.JOB_RECONCILE_SLACK_SECONDS + settings.PROVIDER_GENERATE_TIMEOUT
    )
    return (
        Job.objects.filter(
            workspace_id=job.workspace_id,
            stage=JobStage.CALLED,
            prompt=job.prompt,
            model_id=job.model_id,
            called_at__range=(job.called_at - span, job.called_at + span),
        )
        .exclude(pk=job.pk)
        .exists()
    )


def _closest(job: Job, batches: list[Batch]) -> Finding:
    assert job.called_at is not None
    called_at = job.called_at

    def distance(batch: Batch) -> float:
        made = batch.created_at
        return abs((made - called_at).total_seconds()) if made else float("inf")

    ranked = sorted(batches, key=distance)
    if len(ranked) > 1 and distance(ranked[1]) - distance(ranked[0]) < TIE_SECONDS:
        return Finding(Verdict.CANNOT_TELL)
    return Finding(Verdict.FOUND, ranked[0])


def others_called_meanwhile(job: Job, *, now: dt.datetime) -> bool:
    """Whether another call on the workspace's account may have been charged between this
    job's balance reading and now (so a balance difference cannot be told apart)."""
    assert job.called_at is not None
    earliest = job.called_at - dt.timedelta(seconds=settings.PROVIDER_GENERATE_TIMEOUT)
    return (
        Job.objects.filter(workspace_id=job.workspace_id, called_at__range=(earliest, now))
        .exclude(pk=job.pk)
        .exists()
    )
