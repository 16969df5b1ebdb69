"""The job id on every line a job writes, the failure with its error class, and never a secret
(a provider credential's, a password) in any log line of a failing job or a failing login."""

from __future__ import annotations

from django.urls import reverse

from accounts import crypto
from gallery.tasks import run_job


def test_every_line_a_failing_job_writes_carries_its_id_and_the_error_class(submit, sandbox, logs):
    sandbox.faults(route="ds.generate", quota_exhausted=True, count=1)
    job = submit()
    logs.stream.truncate(0)
    logs.stream.seek(0)

    run_job.apply(args=(job.pk,))  # through Celery's task tracer, as a worker runs it

    job.refresh_from_db()
    assert job.state == "failed"
    ours = [e for e in logs.entries() if e["logger"].startswith(("gallery", "providers"))]
    assert ours, logs.text
    assert {e.get("job_id") for e in ours} == {job.pk}
    [failure] = [e for e in ours if e["level"] == "WARNING" and "failed" in e["message"]]
    assert failure["error_class"] == "QuotaExhaustedError"
    assert job.error in failure["message"]


CANARY_SECRET = "canary-client-secret-7Hq2ZpX"
CANARY_PASSWORD = "canary-password-Lm4rT8w"


def test_no_secret_reaches_the_logs_from_a_failing_job_or_a_failing_login(
    submit, sandbox, studio, owner, client, logs, settings
):
    credential = studio.credential
    credential.secret_encrypted = crypto.encrypt(CANARY_SECRET)  # the sandbox refuses it
    credential.save()
    job = submit()

    run_job.apply(args=(job.pk,))
    response = client.post(reverse("login"), {"username": owner.email, "password": CANARY_PASSWORD})

    job.refresh_from_db()
    assert job.state == "failed", job.error
    assert response.status_code == 200  # the form again, with its error
    assert logs.entries(), "something was logged (else this test proves nothing)"
    assert any(e.get("job_id") == job.pk for e in logs.entries())
    assert CANARY_SECRET not in logs.text
    assert CANARY_PASSWORD not in logs.text
