from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from accounts.models import Workspace


class CatalogModel(models.Model):
    """One model of the workspace's provider, as its catalog last described it.

    Forms are built from these rows, never from a hard-coded capability table.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="catalog")
    provider_model_id = models.CharField(max_length=200)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    group = models.CharField(max_length=100, blank=True, help_text="Upstream vendor, for grouping.")
    capabilities = models.JSONField(default=list)
    allowed = models.BooleanField(default=True)
    max_images = models.PositiveSmallIntegerField(null=True)
    fixed_image_count = models.PositiveSmallIntegerField(null=True)
    aspect_ratios = models.JSONField(default=list)
    sizes = models.JSONField(default=list)
    default_size = models.CharField(max_length=40, blank=True)
    output_formats = models.JSONField(default=list)
    rendering_speeds = models.JSONField(default=list)
    sort_order = models.IntegerField(default=0)
    prices = models.JSONField(default=list)
    raw = models.JSONField(default=dict)
    refreshed_at = models.DateTimeField()

    class Meta:
        ordering = ("sort_order", "name")
        constraints = [
            models.UniqueConstraint(
                fields=("workspace", "provider_model_id"), name="one_catalog_row_per_model"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def can_generate(self) -> bool:
        return "text2image" in self.capabilities or not self.capabilities

    @property
    def can_edit(self) -> bool:
        return "image2image" in self.capabilities


class JobKind(models.TextChoices):
    TEXT2IMAGE = "text2image", "Generate"
    EDIT = "edit", "Edit"


class JobState(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Done"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


ACTIVE_STATES = (JobState.QUEUED, JobState.RUNNING)


class JobQuerySet(models.QuerySet["Job"]):
    def active(self) -> JobQuerySet:
        return self.filter(state__in=ACTIVE_STATES)


class Job(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="jobs")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="jobs"
    )
    kind = models.CharField(max_length=20, choices=JobKind.choices, default=JobKind.TEXT2IMAGE)
    prompt = models.TextField()
    model_id = models.CharField(max_length=200)
    # Everything else the provider gets: n, aspect_ratio, size, output_format, seed, …
    params = models.JSONField(default=dict)
    parent_image = models.ForeignKey(
        "gallery.Image", null=True, blank=True, on_delete=models.SET_NULL, related_name="edit_jobs"
    )
    retry_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # A double click or a browser resubmit carries the same key and finds this job.
    idempotency_key = models.CharField(max_length=64)

    state = models.CharField(
        max_length=12, choices=JobState.choices, default=JobState.QUEUED, db_index=True
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=5)
    # Set just before the provider is called, cleared when its answer is stored: a job found
    # RUNNING with this set may already have been charged and must be reconciled, not re-sent.
    provider_call_started_at = models.DateTimeField(null=True, blank=True)
    # What the provider returned (image ids, download URLs), kept until every image is stored,
    # so a failed download is retried without paying for a second generation.
    result_refs = models.JSONField(default=list, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    batch_id = models.CharField(max_length=200, blank=True)
    provider_image_ids = models.JSONField(default=list)
    cost = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    currency = models.CharField(max_length=12, blank=True)
    error = models.TextField(blank=True)

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=("workspace", "idempotency_key"), name="one_job_per_idempotency_key"
            )
        ]
        indexes = [
            models.Index(fields=("workspace", "state", "created_at"), name="job_ws_state_created")
        ]

    def __str__(self) -> str:
        return f"Job {self.pk} ({self.state})"

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def can_retry(self) -> bool:
        return self.state in (JobState.FAILED, JobState.CANCELLED)

    @property
    def n_images(self) -> int:
        return int(self.params.get("n", 1))


class ImageSource(models.TextChoices):
    JOB = "job", "Darkroom"
    HISTORY = "history", "Provider history"


class ImageQuerySet(models.QuerySet["Image"]):
    def visible(self) -> ImageQuerySet:
        return self.filter(deleted_at__isnull=True)


def _image_path(image: Image, filename: str) -> str:
    return f"images/{image.workspace_id}/{filename}"


class Image(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="images")
    job = models.ForeignKey(
        Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="images"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="images",
    )
    source = models.CharField(max_length=10, choices=ImageSource.choices, default=ImageSource.JOB)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children"
    )
    prompt = models.TextField(blank=True)
    model_id = models.CharField(max_length=200, blank=True)
    provider_image_id = models.CharField(max_length=200, blank=True)
    # neuroflash's relative output_image_url: what its /edit endpoint accepts.
    provider_url = models.CharField(max_length=500, blank=True)
    file = models.FileField(upload_to=_image_path, blank=True)
    thumbnail = models.FileField(upload_to=_image_path, blank=True)
    width = models.PositiveIntegerField(null=True)
    height = models.PositiveIntegerField(null=True)
    format = models.CharField(max_length=10, blank=True)
    bytes = models.PositiveIntegerField(null=True)
    checksum = models.CharField(
        max_length=64, blank=True, help_text="SHA-256 of the original file."
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    # When the provider says it made the image (history entries); None for unknown.
    provider_created_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    # Deleted because a full history sync found it gone at the provider (not by a person here).
    removed_at_provider = models.BooleanField(default=False)
    # Why the file could not be fetched from the provider (history entries); not retried then.
    file_error = models.CharField(max_length=300, blank=True)

    objects = ImageQuerySet.as_manager()

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=("workspace", "provider_image_id"),
                condition=~Q(provider_image_id=""),
                name="one_image_per_provider_id",
            )
        ]
        indexes = [
            models.Index(fields=("workspace", "-created_at", "-id"), name="image_ws_created")
        ]

    def __str__(self) -> str:
        return f"Image {self.pk}"


class QuotaSnapshot(models.Model):
    """What the provider said about the workspace's quota or balance at one moment."""

    workspace = models.ForeignKey(
        Workspace, on_delete=models.CASCADE, related_name="quota_snapshots"
    )
    taken_at = models.DateTimeField(auto_now_add=True, db_index=True)
    kind = models.CharField(max_length=10)  # "credits" (neuroflash) or "balance" (NanoGPT)
    monthly_used = models.IntegerField(null=True)
    monthly_available = models.IntegerField(null=True)
    monthly_limit = models.IntegerField(null=True)
    daily_used = models.IntegerField(null=True)
    daily_limit = models.IntegerField(null=True)
    bonus = models.IntegerField(null=True)
    spillover = models.IntegerField(null=True)
    fair_use_reached = models.BooleanField(null=True)
    balance = models.DecimalField(max_digits=14, decimal_places=6, null=True)
    currency = models.CharField(max_length=12, blank=True)

    class Meta:
        ordering = ("-taken_at", "-id")
        get_latest_by = "taken_at"

    def __str__(self) -> str:
        return f"Quota of {self.workspace_id} at {self.taken_at:%Y-%m-%d %H:%M}"

    @property
    def daily_left(self) -> int | None:
        if self.daily_limit is None or self.daily_used is None:
            return None
        return max(self.daily_limit - self.daily_used, 0)

    @property
    def images_left(self) -> int | None:
        """How many more images fit now: the smaller of the monthly and the daily room."""
        room = [left for left in (self.monthly_available, self.daily_left) if left is not None]
        return min(room) if room else None


class HistorySync(models.Model):
    """One run of the history mirror for a workspace, with its progress as it goes."""

    class Mode(models.TextChoices):
        INCREMENTAL = "incremental", "Incremental"
        FULL = "full", "Full"

    class State(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Syncing"
        OK = "ok", "Done"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Skipped"

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="history_syncs")
    mode = models.CharField(max_length=12, choices=Mode.choices)
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    pages_fetched = models.PositiveIntegerField(default=0)
    entries_seen = models.PositiveIntegerField(default=0)
    entries_new = models.PositiveIntegerField(default=0)
    entries_updated = models.PositiveIntegerField(default=0)
    entries_removed = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            # The lock: at most one running sync per workspace, enforced by the database.
            models.UniqueConstraint(
                fields=("workspace",),
                condition=Q(state="running"),
                name="one_running_sync_per_workspace",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_mode_display()} sync of {self.workspace_id} ({self.state})"

    @property
    def is_pending(self) -> bool:
        return self.state in (self.State.QUEUED, self.State.RUNNING)
