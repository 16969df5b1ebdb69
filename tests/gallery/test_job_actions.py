"""Cancel, retry and the live job card."""

from __future__ import annotations

from django.urls import reverse

from accounts.models import Role
from gallery.models import Job
from tests.factories import MembershipFactory
from tests.gallery.running import run_until_done


def test_the_author_cancels_a_queued_job(member_client, studio, submit):
    job = submit()
    response = member_client.post(
        reverse("gallery:job_cancel", args=[studio.slug, job.pk]), follow=True
    )
    job.refresh_from_db()
    assert job.state == "cancelled"
    assert "Job cancelled." in response.content.decode()


def test_another_member_cannot_cancel_someone_elses_job(client_for, studio, submit):
    job = submit()
    other = MembershipFactory(workspace=studio, role=Role.MEMBER).user
    assert (
        client_for(other)
        .post(reverse("gallery:job_cancel", args=[studio.slug, job.pk]))
        .status_code
        == 403
    )
    job.refresh_from_db()
    assert job.state == "queued"


def test_a_running_job_is_too_late_to_cancel(member_client, studio, submit):
    job = submit()
    Job.objects.filter(pk=job.pk).update(state="running")
    response = member_client.post(
        reverse("gallery:job_cancel", args=[studio.slug, job.pk]), follow=True
    )
    assert "Too late to cancel" in response.content.decode()


def test_retry_starts_a_new_job_with_the_same_settings_once(member_client, studio, submit, sandbox):
    sandbox.faults(route="ds.generate", status=400, count=1)
    job = submit(n=2, aspect_ratio="16:9")
    run_until_done(job)
    assert job.state == "failed"
    url = reverse("gallery:job_retry", args=[studio.slug, job.pk])
    member_client.post(url)
    member_client.post(url)  # a double click
    new = Job.objects.exclude(pk=job.pk).get()
    assert (new.state, new.params, new.prompt, new.retry_of) == (
        "queued",
        job.params,
        job.prompt,
        job,
    )


def test_only_failed_or_cancelled_jobs_can_be_retried(member_client, studio, submit):
    job = submit()
    response = member_client.post(
        reverse("gallery:job_retry", args=[studio.slug, job.pk]), follow=True
    )
    assert "Only failed or cancelled jobs can be retried." in response.content.decode()
    assert Job.objects.count() == 1


def test_the_card_polls_while_active_and_stops_when_done(member_client, studio, submit):
    job = submit()
    url = reverse("gallery:job_card", args=[studio.slug, job.pk])
    html = member_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 2s"' in html
    assert "position 1 in the queue" in html
    assert "Nano Banana 2 · 1 image" in html  # the catalog's name for the model
    run_until_done(job)
    html = member_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    card = html[: html.index("</article>")]  # (the header meter comes along: its own trigger)
    assert "hx-trigger" not in card
    assert "Done" in html
    assert 'src="/t/' in html  # the thumbnail, by its signed URL


def test_a_failed_card_says_why_and_offers_retry(member_client, studio, submit, sandbox):
    sandbox.faults(
        route="ds.generate", status=422, body={"error": "prompt violates policy"}, count=1
    )
    job = submit()
    run_until_done(job)
    html = member_client.get(
        reverse("gallery:job_card", args=[studio.slug, job.pk]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "prompt violates policy" in html
    assert "Retry" in html


def test_the_card_link_works_without_javascript(member_client, studio, submit):
    job = submit()
    response = member_client.get(reverse("gallery:job_card", args=[studio.slug, job.pk]))
    assert response["Location"].endswith(f"/generate/#job-{job.pk}")
