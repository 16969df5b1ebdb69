"""Running jobs in the test process, one attempt at a time, as a worker would."""

from __future__ import annotations

from django.utils import timezone

from gallery.models import Job, JobState
from gallery.services.runner import job_run


def run_until_done(job: Job, *, limit: int = 10) -> list[float]:
    """Run attempts back to back until the job ends; returns the waits the job asked for
    between attempts (each one skipped here, as if the time had passed)."""
    waits = []
    for _ in range(limit):
        job_run(job_id=job.pk)
        job.refresh_from_db()
        if not job.is_active:
            return waits
        assert job.state == JobState.QUEUED, "an attempt ends with the job given back or ended"
        waits.append((job.next_attempt_at - timezone.now()).total_seconds())
        Job.objects.filter(pk=job.pk).update(next_attempt_at=None)  # the wait is over
    raise AssertionError(f"job still {job.state} after {limit} attempts: {job.error}")
