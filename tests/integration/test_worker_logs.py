"""A real worker with LOG_FORMAT=json: one JSON object per line, and the job id on every line
about the job, Celery's own included."""

from __future__ import annotations

import json

import pytest

from gallery.models import Job
from tests.integration.conftest import finished

pytestmark = pytest.mark.integration


@pytest.mark.worker_env(LOG_FORMAT="json", JOB_RETRY_BASE_SECONDS="0.2")
def test_a_workers_lines_about_a_job_are_json_and_carry_its_id(celery_worker, generate, sandbox):
    sandbox.faults(route="ds.generate", status=429, retry_after=1, count=1)
    generate()
    job = finished(Job.objects.get(), celery_worker)
    assert job.state == "succeeded", job.error

    entries = [
        json.loads(line)
        for line in celery_worker.log_path.read_text().splitlines()
        if line.startswith("{")
    ]
    about_the_job = [e for e in entries if "run_job[" in e["message"] or "Job " in e["message"]]
    succeeded = [e for e in about_the_job if "succeeded in" in e["message"]]
    retried = [e for e in about_the_job if "trying again" in e["message"]]
    assert succeeded, celery_worker.output()
    assert retried, celery_worker.output()
    assert retried[0]["error_class"] == "RateLimitedError"
    for entry in [*succeeded, *retried]:
        assert entry["job_id"] == job.pk, entry
