"""Reads about jobs: the queue beside the form, a job's card, its options, comparisons, and the
model catalog the forms are built from."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import (
    Case,
    Count,
    IntegerField,
    Prefetch,
    Q,
    QuerySet,
    Value,
    When,
)
from django.utils.translation import gettext_lazy

from accounts.models import User, Workspace
from gallery.models import (
    CatalogModel,
    CatalogStatus,
    Comparison,
    Image,
    Job,
    JobKind,
    JobState,
)


def catalog_for(*, workspace: Workspace, kind: str = JobKind.TEXT2IMAGE) -> list[CatalogModel]:
    models = list(CatalogModel.objects.filter(workspace=workspace))
    if kind == JobKind.EDIT:
        return [m for m in models if m.can_edit]
    return [m for m in models if m.can_generate]


def catalog_error(*, workspace: Workspace) -> str:
    """Why the last catalog refresh failed, until someone asks again ("" when it did not)."""
    return (
        CatalogStatus.objects.filter(workspace=workspace).values_list("error", flat=True).first()
        or ""
    )


def _with_images(jobs: QuerySet[Job]) -> QuerySet[Job]:
    deleted = Count("images", filter=Q(images__deleted_at__isnull=False))
    return (
        jobs.select_related("author")
        .annotate(deleted_images=deleted)
        .prefetch_related(
            Prefetch(
                "images", queryset=Image.objects.visible().order_by("id"), to_attr="visible_images"
            )
        )
    )


def job_list_for_queue(*, workspace: Workspace, user: User, limit: int = 20) -> list[Job]:
    """The workspace's recent jobs, the viewer's own first, with queue positions."""
    mine_first = Case(
        When(author=user, then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    jobs = Job.objects.filter(workspace=workspace)
    listed = list(_with_images(jobs).order_by(mine_first, "-created_at", "-id")[:limit])
    _set_queue_positions(workspace, listed)
    return listed


def job_for_card(*, job_id: int) -> Job:
    job = _with_images(Job.objects.filter(pk=job_id)).get()
    _set_queue_positions(job.workspace, [job])
    return job


def _set_queue_positions(workspace: Workspace, jobs: list[Job]) -> None:
    """`queue_position`: 1 for the next job a worker takes in this workspace, None once running."""
    queued = Job.objects.filter(workspace=workspace, state=JobState.QUEUED).order_by(
        "created_at", "pk"
    )
    position = {pk: i for i, pk in enumerate(queued.values_list("pk", flat=True), start=1)}
    for job in jobs:
        job.queue_position = position.get(job.pk)


def catalog_names(*, workspace: Workspace) -> dict[str, str]:
    """Model id → the name the provider's catalog gives it, for labels."""
    return dict(
        CatalogModel.objects.filter(workspace=workspace).values_list("provider_model_id", "name")
    )


# How the generate form names the options a job was made with.
PARAMETER_LABELS = {
    "n": gettext_lazy("Images in the job"),
    "aspect_ratio": gettext_lazy("Aspect ratio"),
    "size": gettext_lazy("Size"),
    "output_format": gettext_lazy("Format"),
    "seed": gettext_lazy("Seed"),
}


def job_parameters(job: Job | None) -> list[tuple[str, str]]:
    """A job's parameters as (label, value) for people, provider-specific extras included."""
    if job is None:
        return []
    params = dict(job.params or {})
    extra = params.pop("extra", None)
    if isinstance(extra, dict):
        params.update({k: v for k, v in extra.items() if k not in params})
    return [
        (PARAMETER_LABELS.get(name, name.replace("_", " ").capitalize()), str(value))
        for name, value in params.items()
        if value not in (None, "", [], {})
    ]


COMPARISONS_SHOWN = 20


@dataclass(frozen=True)
class ComparisonPage:
    comparisons: list[Comparison]  # each with `listed_jobs`, each job with `visible_images`
    next_before: int | None  # the `before` of the next (older) page


def comparison_page(
    *, workspace: Workspace, before: int | None = None, size: int = COMPARISONS_SHOWN
) -> ComparisonPage:
    """The workspace's comparisons, newest first, keyset-paginated on id, with their jobs and
    images for the thumbnails: three queries however many there are."""
    jobs = Job.objects.order_by("pk").prefetch_related(
        Prefetch(
            "images", queryset=Image.objects.visible().order_by("id"), to_attr="visible_images"
        )
    )
    comparisons = Comparison.objects.filter(workspace=workspace)
    if before is not None:
        comparisons = comparisons.filter(pk__lt=before)
    rows: list[Comparison] = list(
        comparisons.select_related("author")
        .prefetch_related(Prefetch("jobs", queryset=jobs, to_attr="listed_jobs"))
        .order_by("-id")[: size + 1]
    )
    more = len(rows) > size
    rows = rows[:size]
    return ComparisonPage(rows, rows[-1].pk if more else None)


def comparison_jobs(*, comparison: Comparison) -> list[Job]:
    """The comparison's jobs in the order its models were picked, as the job cards need them."""
    jobs = list(_with_images(comparison.jobs.all()).order_by("pk"))
    if any(job.state == JobState.QUEUED for job in jobs):
        _set_queue_positions(comparison.workspace, jobs)
    return jobs
