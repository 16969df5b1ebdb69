"""One job attempt at a time, driven directly against the live sandbox (the worker is tested in
tests/integration). Every fault ends in success or a clear failure, never in a second charge."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone
from PIL import Image as PILImage

from gallery.models import Image, Job
from gallery.services.job_errors import (
    BALANCE_CANNOT_TELL,
    MAY_HAVE_BEEN_CHARGED,
    SOURCE_FILE_MISSING,
)
from gallery.services.jobs import JobRequest, job_cancel, job_retry, job_submit
from gallery.services.runner import job_run
from tests.gallery.running import run_until_done


def test_it_generates_stores_and_thumbnails_the_images(submit, sandbox, member):
    job = submit(n=2, aspect_ratio="16:9", output_format="png")
    run_until_done(job)
    assert (job.state, job.stage) == ("succeeded", "paid"), job.error
    assert sandbox.counters()["images_charged"] == 2
    images = list(job.images.order_by("id"))
    assert len(images) == 2
    for image in images:
        assert (image.author, image.source, image.model_id) == (member, "job", "nano-banana-2")
        assert image.width > image.height  # 16:9
        assert image.format == "png"
        with image.file.open("rb") as f:
            content = f.read()
        assert image.checksum == hashlib.sha256(content).hexdigest()
        assert image.bytes == len(content)
        assert image.thumbnail.size <= 40_000
        with image.thumbnail.open("rb") as f:
            assert PILImage.open(f).format == "WEBP"
    assert set(job.provider_image_ids) == {i.provider_image_id for i in images}
    assert job.batch_id
    assert job.attempts == 1
    assert (job.result_refs, job.lease, job.heartbeat_at) == ([], "", None)


def test_a_429_is_retried_after_the_providers_retry_after(submit, sandbox):
    sandbox.faults(route="ds.generate", status=429, retry_after=3, count=1)
    job = submit()
    [wait] = run_until_done(job)
    assert wait >= 2.9
    assert job.state == "succeeded"
    assert job.attempts == 2
    assert sandbox.calls("POST ds.generate") == 2
    assert sandbox.counters()["images_charged"] == 1


def test_a_job_is_not_taken_before_its_wait_is_over(submit, sandbox):
    sandbox.faults(route="ds.generate", status=429, retry_after=30, count=1)
    job = submit()
    job_run(job_id=job.pk)
    job_run(job_id=job.pk)  # an early duplicate message: Retry-After holds
    job.refresh_from_db()
    assert (job.state, job.attempts) == ("queued", 1)
    assert sandbox.calls("POST ds.generate") == 1


def test_repeated_server_errors_are_checked_each_time_and_end_in_a_clear_failure(
    submit, sandbox, settings
):
    settings.JOB_RECONCILE_SETTLE_SECONDS = 0  # the history is conclusive at once
    sandbox.faults(route="ds.generate", status=500, count=50)
    job = submit()
    run_until_done(job, limit=20)
    assert job.state == "failed"
    assert "server error" in job.error
    assert "history shows that request never ran" in job.error
    assert "Trying again" not in job.error
    assert job.error[0].isupper()
    # Each 500 may have come after a charge: the history was read before every new call.
    assert sandbox.calls("GET ds.history") >= job.max_attempts
    assert sandbox.calls("POST ds.generate") == job.max_attempts
    assert sandbox.counters()["images_charged"] == 0


@pytest.mark.parametrize("status", [500, 502, 503])
def test_a_server_error_after_the_provider_charged_is_adopted_not_paid_again(
    submit, sandbox, settings, status
):
    sandbox.faults(route="ds.generate", status=status, after=True, count=1)
    job = submit(n=2)
    waits = run_until_done(job)
    assert job.state == "succeeded", job.error
    assert job.images.count() == 2
    assert max(waits) <= 2  # looked again at once: the answer was an error, not silence
    assert sandbox.calls("POST ds.generate") == 1
    assert sandbox.counters()["images_charged"] == 2


def test_charged_equals_stored_when_every_other_call_fails_after_charging(
    submit, sandbox, settings
):
    settings.JOB_RECONCILE_SETTLE_SECONDS = 0
    sandbox.faults(route="ds.generate", status=503, after=True, every=2)
    jobs = [submit(prompt=f"a lighthouse, take {i}", n=2) for i in range(4)]
    for job in jobs:
        run_until_done(job)
        assert job.state == "succeeded", job.error
    stored = sum(job.images.count() for job in jobs)
    assert stored == 8
    assert sandbox.counters()["images_charged"] == stored
    assert sandbox.calls("POST ds.generate") == 4


def test_backoff_grows_with_each_attempt(submit, sandbox, settings):
    settings.JOB_RETRY_BASE_SECONDS = 2
    sandbox.faults(route="ds.generate", status=429, count=3)
    job = submit()
    waits = run_until_done(job)
    for wait, ceiling in zip(waits, [2, 4, 8], strict=True):
        assert ceiling / 2 - 0.1 <= wait <= ceiling
    assert job.state == "succeeded"


def test_a_timeout_after_the_provider_charged_adopts_the_result_instead_of_paying_again(
    submit, sandbox, settings
):
    settings.PROVIDER_GENERATE_TIMEOUT = 0.5
    # The sandbox answers after 1.5 s, but generates (and charges) anyway, as a real one would.
    sandbox.faults(route="ds.generate", latency=1.5, count=1)
    job = submit(n=2)
    job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.state, job.stage) == ("queued", "called")  # the next attempt must reconcile
    assert job.called_at is not None
    polls = run_until_done(job, limit=1000)  # looks in the history until the images appear
    assert polls, "it should have waited for the provider to finish"
    assert job.state == "succeeded", job.error
    assert job.images.count() == 2
    assert job.attempts == 1  # looking in the history is not another attempt
    assert sandbox.calls("POST ds.generate") == 1
    assert sandbox.counters()["images_charged"] == 2


def test_a_timeout_before_anything_happened_calls_again_after_checking(submit, sandbox, settings):
    settings.PROVIDER_GENERATE_TIMEOUT = 0.5
    settings.JOB_RECONCILE_WAIT_SECONDS = 0  # history is conclusive at once
    sandbox.faults(route="ds.generate", hang=True, seconds=1, count=1)
    job = submit()
    run_until_done(job)
    assert job.state == "succeeded", job.error
    assert sandbox.calls("GET ds.history") >= 1  # it looked before calling again
    assert job.attempts == 2
    assert sandbox.counters()["images_charged"] == 1


def test_malformed_json_is_reconciled_not_blindly_repeated(submit, sandbox, settings):
    settings.JOB_RECONCILE_SETTLE_SECONDS = 0
    sandbox.faults(route="ds.generate", malformed_json=True, count=1)
    job = submit()
    run_until_done(job)
    assert job.state == "succeeded", job.error
    assert sandbox.calls("GET ds.history") >= 1
    assert sandbox.counters()["images_charged"] == 1


def test_quota_exhausted_at_the_provider_fails_in_plain_words(submit, sandbox):
    sandbox.faults(route="ds.generate", quota_exhausted=True, count=1)
    job = submit()
    run_until_done(job)
    assert (job.state, job.stage) == ("failed", "not_called")
    assert "quota" in job.error.lower()


def test_a_token_expired_mid_job_is_refreshed(submit, sandbox):
    job = submit()
    from accounts.connection import provider_for

    with provider_for(job.workspace.credential) as provider:
        provider.get_quota()  # a token is now cached
    sandbox.reset(revoke_tokens=True)
    run_until_done(job)
    assert job.state == "succeeded", job.error
    assert sandbox.calls("POST nf.token") == 1


def test_without_history_an_unknown_outcome_fails_instead_of_guessing(submit, sandbox):
    job = submit()
    Job.objects.filter(pk=job.pk).update(stage="called", called_at=timezone.now())
    from providers.adapters import NeuroflashProvider

    # A provider that keeps no history cannot tell whether the first call went through.
    no_history = NeuroflashProvider.capabilities.__class__(has_history=False, has_get_image=True)
    with mock.patch.object(NeuroflashProvider, "capabilities", no_history):
        run_until_done(job)
    assert job.state == "failed"
    assert job.error == MAY_HAVE_BEEN_CHARGED
    assert sandbox.calls("POST ds.generate") == 0


def test_a_finished_job_is_not_run_twice(submit, sandbox):
    job = submit()
    run_until_done(job)
    job_run(job_id=job.pk)  # a redelivered message
    assert sandbox.calls("POST ds.generate") == 1


def test_a_cancelled_job_never_reaches_the_provider(submit, member, sandbox):
    job = submit()
    assert job_cancel(job=job, membership=member.memberships.get())
    job_run(job_id=job.pk)
    assert sandbox.calls("POST ds.generate") == 0


def test_a_job_whose_call_may_have_gone_through_cannot_be_cancelled(submit, member, sandbox):
    job = submit()
    Job.objects.filter(pk=job.pk).update(stage="called", called_at=timezone.now())
    job.refresh_from_db()
    assert not job.can_cancel
    assert not job_cancel(job=job, membership=member.memberships.get())


def test_an_edit_sends_the_relative_history_url_and_links_the_lineage(
    submit, sandbox, studio, member
):
    original = submit()
    run_until_done(original)
    parent = original.images.get()
    # Stored from the generate answer: the edit needs no lookup of its source first.
    assert (
        parent.provider_url
        == f"/api/ds-prototypes/image_generation/{parent.provider_image_id}/view"
    )
    edit = job_submit(
        workspace=studio,
        author=member,
        request=JobRequest(
            "edit", "make it night", "nano-banana-2", {"n": 1, "aspect_ratio": "auto"}, parent
        ),
        idempotency_key="edit-1",
    )
    run_until_done(edit)
    assert edit.state == "succeeded", edit.error
    child = edit.images.get()
    assert child.parent == parent
    parent.refresh_from_db()
    assert sandbox.calls("POST ds.edit") == 1
    assert sandbox.calls("GET ds.history_item") == 0


def test_an_edit_whose_source_file_is_missing_fails_before_any_call(
    nanogpt_studio, submit, sandbox, member
):
    original = submit(model="openai/gpt-image-1")
    run_until_done(original)
    assert original.state == "succeeded", original.error
    parent = original.images.get()
    parent.file.storage.delete(parent.file.name)
    edit = job_submit(
        workspace=nanogpt_studio,
        author=member,
        request=JobRequest("edit", "make it night", "openai/gpt-image-1", {"n": 1}, parent),
        idempotency_key="edit-1",
    )
    run_until_done(edit)
    assert (edit.state, edit.stage, edit.error) == ("failed", "not_called", SOURCE_FILE_MISSING)
    assert sandbox.calls("POST ng.generate") == 1  # the original only


def test_nanogpt_charged_without_images_says_so_and_is_not_sent_again(
    nanogpt_studio, submit, sandbox
):
    sandbox.faults(route="ng.generate", status=502, after=True, count=1)
    job = submit(model="hidream", size="1024x1024")
    run_until_done(job)
    assert (job.state, job.stage) == ("failed", "called")
    assert "took 0.0112 USD for this request but returned no images" in job.error
    assert (job.cost, job.currency) == (Decimal("0.0112"), "USD")  # shown on the card
    assert sandbox.calls("POST ng.generate") == 1
    assert sandbox.counters()["images_charged"] == 1


def test_nanogpt_not_charged_is_sent_again(nanogpt_studio, submit, sandbox, settings):
    settings.JOB_RECONCILE_SETTLE_SECONDS = 0
    sandbox.faults(route="ng.generate", status=502, count=1)  # refused before any work
    job = submit(model="hidream", size="1024x1024")
    run_until_done(job)
    assert job.state == "succeeded", job.error
    assert sandbox.calls("POST ng.generate") == 2
    assert sandbox.counters()["images_charged"] == 1


def test_nanogpt_with_other_calls_meanwhile_stops_rather_than_guess(
    nanogpt_studio, submit, sandbox
):
    sandbox.faults(route="ng.generate", status=502, count=1)
    job = submit(model="hidream", size="1024x1024")
    job_run(job_id=job.pk)  # the answer is lost
    other = submit(model="hidream", prompt="another request on the same account")
    run_until_done(other)
    Job.objects.filter(pk=job.pk).update(next_attempt_at=None)
    run_until_done(job)
    assert (job.state, job.error) == ("failed", BALANCE_CANNOT_TELL)
    assert sandbox.calls("POST ng.generate") == 2  # the lost one and the other job's


def test_a_partial_batch_says_how_many_were_delivered_and_why(
    submit, sandbox, member_client, studio
):
    sandbox.set_quota(limit_daily=10, used_daily=9)  # one image left today
    job = submit(n=2)
    run_until_done(job)
    assert job.state == "succeeded", job.error
    assert (job.delivered, job.images.count()) == (1, 1)
    assert job.warning  # the provider's own words
    assert job.delivery_note.startswith("1 of 2 images delivered: ")
    html = member_client.get(
        reverse("gallery:job_card", args=[studio.slug, job.pk]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert 'class="job-warning' in html
    assert "1 of 2 images delivered" in html
    assert sandbox.counters()["images_charged"] == 1


@pytest.mark.parametrize("n", [1, 3])
def test_refreshed_quota_reflects_the_charge(submit, sandbox, studio, n):
    from gallery.services.quota import quota_refresh

    before = quota_refresh(workspace=studio)
    job = submit(n=n)
    run_until_done(job)
    after = quota_refresh(workspace=studio)
    assert after.monthly_used == before.monthly_used + n
    assert Image.objects.filter(job=job).count() == n


def test_it_keeps_looking_for_a_lost_request_before_calling_again(submit, sandbox, settings):
    settings.PROVIDER_GENERATE_TIMEOUT = 0.5
    settings.JOB_RECONCILE_WAIT_SECONDS = 60
    sandbox.faults(route="ds.generate", hang=True, seconds=1, count=1)
    job = submit()
    job_run(job_id=job.pk)  # times out: outcome unknown
    Job.objects.filter(pk=job.pk).update(next_attempt_at=None)
    job_run(job_id=job.pk)  # nothing in the history yet: wait, do not call again
    job.refresh_from_db()
    assert (job.state, job.stage, job.attempts) == ("queued", "called", 1)
    assert "Waiting for the provider" in job.error
    assert job.next_attempt_at > timezone.now()
    assert sandbox.calls("POST ds.generate") == 1


def test_a_failed_download_is_retried_without_calling_the_provider_again(submit, sandbox, settings):
    sandbox.faults(
        {"route": "storage.file", "status": 503, "count": 2},
        {"route": "ds.view", "status": 503, "count": 2},
    )
    job = submit()
    waits = run_until_done(job)
    assert len(waits) == 2
    assert job.state == "succeeded", job.error
    assert sandbox.calls("POST ds.generate") == 1
    assert sandbox.counters()["images_charged"] == 1


def test_a_failed_download_waits_as_long_as_the_image_host_asked(submit, sandbox):
    sandbox.faults(
        {"route": "storage.file", "status": 429, "retry_after": 120, "count": 1},
        {"route": "ds.view", "status": 503, "count": 1},
    )
    job = submit()
    waits = run_until_done(job)
    assert job.state == "succeeded", job.error
    assert len(waits) == 1
    assert waits[0] > 100  # Retry-After: 120, not the backoff's 1-2 s
    assert sandbox.calls("POST ds.generate") == 1


def test_when_downloads_keep_failing_retry_stores_the_paid_images_without_paying_again(
    submit, sandbox, member
):
    sandbox.faults({"route": "storage.file", "status": 503}, {"route": "ds.view", "status": 503})
    job = submit()
    run_until_done(job)
    assert (job.state, job.stage) == ("failed", "paid")
    assert "without a new charge" in job.error
    assert job.result_refs  # what was paid for is kept
    sandbox.clear_faults()
    again = job_retry(job=job, author=member, idempotency_key="retry-1")
    assert again.pk == job.pk
    run_until_done(job)
    assert job.state == "succeeded", job.error
    assert job.images.count() == 1
    assert sandbox.calls("POST ds.generate") == 1
    assert sandbox.counters()["images_charged"] == 1


def test_images_on_a_storage_host_that_is_not_allowed_come_from_the_view_route(submit, sandbox):
    # The docs' example answers with URLs on a separate storage host; here another name for
    # the sandbox stands in for one, and it is not among the allowed hosts.
    sandbox.configure(storage_url=sandbox.url.replace("127.0.0.1", "localhost"))
    job = submit(n=2)
    run_until_done(job)
    assert job.state == "succeeded", job.error
    assert job.images.count() == 2
    assert sandbox.calls("GET storage.file") == 0
    assert sandbox.calls("GET ds.view") == 2
    assert sandbox.calls("POST ds.generate") == 1


def test_images_on_an_allowed_storage_host_download_from_it_without_credentials(
    submit, sandbox, settings
):
    """A public storage host always may serve them; this one is on loopback, so the operator
    names it (PROVIDER_DOWNLOAD_HOSTS), as for a storage server on the private network."""
    storage = sandbox.url.replace("127.0.0.1", "localhost")
    settings.PROVIDER_DOWNLOAD_HOSTS = [storage.removeprefix("http://")]
    sandbox.configure(storage_url=storage)
    job = submit(n=2)
    run_until_done(job)
    assert job.state == "succeeded", job.error
    assert job.images.count() == 2
    assert sandbox.calls("GET storage.file") == 2
    assert sandbox.calls("GET ds.view") == 0


def test_when_the_storage_host_fails_the_view_route_serves_the_images(submit, sandbox):
    sandbox.faults(route="storage.file", status=503)
    job = submit()
    run_until_done(job)
    assert (job.state, job.attempts) == ("succeeded", 1)
    assert sandbox.calls("GET ds.view") == 1


def test_a_worker_that_lost_its_job_cannot_move_it(submit, sandbox):
    """The fence: after the reaper handed a job on, the old worker's transitions all lose."""
    job = submit()
    assert Job.objects.claim(job.pk, lease="old", now=timezone.now())
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - dt.timedelta(seconds=3600))
    from gallery.services.jobs import jobs_recover

    assert jobs_recover().released == 1
    assert Job.objects.claim(job.pk, lease="new", now=timezone.now())
    now = timezone.now()
    assert not Job.objects.mark_called(job.pk, lease="old", now=now, conclusive_at=now)
    assert not Job.objects.fail(job.pk, lease="old", now=now, error="x")
    assert not Job.objects.beat(job.pk, lease="old", now=now)
    assert Job.objects.mark_called(job.pk, lease="new", now=now, conclusive_at=now)
