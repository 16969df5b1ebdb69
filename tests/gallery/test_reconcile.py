"""Reconciling a call whose answer never came: adopt only what is this job's, never another's,
and fail honestly rather than guess. The history is the live sandbox's, filled by real calls."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.utils import timezone

from accounts.connection import provider_for
from gallery.models import HistorySync, Job
from gallery.services.job_errors import CANNOT_TELL_WHICH
from gallery.services.runner import job_run
from gallery.services.sync import sync_run
from providers import GenerateRequest
from tests.gallery.running import run_until_done

PROMPT = "a lighthouse at dusk"


@pytest.fixture
def made_elsewhere(studio):
    """Generate at the provider directly, as a call whose answer was lost would have."""

    def generate(prompt: str = PROMPT, **params) -> list[str]:
        params.setdefault("aspect_ratio", "1:1")
        with provider_for(studio.credential) as provider:
            result = provider.generate(
                GenerateRequest(prompt=prompt, model="nano-banana-2", **params)
            )
        return [image.provider_image_id for image in result.images]

    return generate


@pytest.fixture
def unanswered(submit):
    """A queued job whose call went out at `called_at` and never came back."""

    def make(called_at: dt.datetime | None = None, prompt: str = PROMPT, **params) -> Job:
        params.setdefault("aspect_ratio", "1:1")
        job = submit(prompt=prompt, **params)
        Job.objects.filter(pk=job.pk).update(
            stage="called", called_at=called_at or timezone.now(), attempts=1
        )
        job.refresh_from_db()
        return job

    return make


def test_it_adopts_the_batch_its_lost_call_made(unanswered, made_elsewhere, sandbox, member):
    job = unanswered(n=2)
    ids = made_elsewhere(n=2)
    run_until_done(job)
    assert job.state == "succeeded", job.error
    assert sorted(i.provider_image_id for i in job.images.all()) == sorted(ids)
    assert {i.author for i in job.images.all()} == {member}
    assert (job.cost, job.currency) == (2, "credits")  # what the card and usage show
    assert sandbox.calls("POST ds.generate") == 1  # the lost call only; none from the job


def test_it_never_takes_another_jobs_images(unanswered, submit, sandbox, settings, member, owner):
    """The issue's case: X (member) done, Y (same prompt and model) lost its call. Y waits, then
    sends its own request; X keeps its image and its author."""
    settings.JOB_RECONCILE_WAIT_SECONDS = 0
    y = unanswered()
    Job.objects.filter(pk=y.pk).update(author=owner)
    x = submit()
    run_until_done(x)
    x_image = x.images.get()
    run_until_done(y)
    assert y.state == "succeeded", y.error
    assert y.images.get().author == owner
    x_image.refresh_from_db()
    assert (x_image.job, x_image.author) == (x, member)
    assert sandbox.counters()["images_charged"] == 2


def test_while_the_request_may_still_be_running_it_waits(unanswered, sandbox):
    job = unanswered()
    job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.state, job.stage, job.attempts) == ("queued", "called", 1)
    assert sandbox.calls("POST ds.generate") == 0


def test_two_unanswered_jobs_asking_for_the_same_cannot_tell_whose_batch_it_is(
    unanswered, made_elsewhere, sandbox
):
    first, second = unanswered(), unanswered()
    made_elsewhere()
    for job in (first, second):
        run_until_done(job)
        assert (job.state, job.error) == ("failed", CANNOT_TELL_WHICH)
    assert first.images.count() == second.images.count() == 0
    assert sandbox.calls("POST ds.generate") == 1


def test_an_entry_the_mirror_already_has_is_not_taken_nor_paid_for_again(
    unanswered, made_elsewhere, studio, sandbox, settings
):
    settings.JOB_RECONCILE_WAIT_SECONDS = 0
    job = unanswered()
    [image_id] = made_elsewhere()
    sync_run(run_id=HistorySync.objects.create(workspace=studio, mode="full").pk)
    run_until_done(job)
    assert (job.state, job.error) == ("failed", CANNOT_TELL_WHICH)
    assert studio.images.get(provider_image_id=image_id).job is None  # still the mirror's
    assert sandbox.calls("POST ds.generate") == 1


def test_the_same_prompt_with_other_parameters_is_not_adopted_nor_paid_for_again(
    unanswered, made_elsewhere, sandbox, settings
):
    settings.JOB_RECONCILE_WAIT_SECONDS = 0
    job = unanswered(aspect_ratio="16:9")
    made_elsewhere(aspect_ratio="1:1")
    run_until_done(job)
    assert (job.state, job.error) == ("failed", CANNOT_TELL_WHICH)
    assert sandbox.calls("POST ds.generate") == 1


def test_of_two_free_batches_it_takes_the_one_made_closest_to_its_call(
    unanswered, made_elsewhere, studio
):
    [ours] = made_elsewhere()
    with provider_for(studio.credential) as provider:
        made_at = provider.get_image(ours).created_at  # the history's clock, to the second
    job = unanswered(called_at=made_at)
    time.sleep(2.1)  # the other one comes clearly later (ties are not guessed)
    made_elsewhere()
    run_until_done(job)
    assert job.state == "succeeded", job.error
    assert job.images.get().provider_image_id == ours


def test_entries_made_before_the_call_are_not_its_own(unanswered, made_elsewhere, settings):
    settings.JOB_RECONCILE_SLACK_SECONDS = 0
    made_elsewhere()
    job = unanswered(called_at=timezone.now() + dt.timedelta(seconds=5))
    job_run(job_id=job.pk)
    job.refresh_from_db()
    assert (job.state, job.stage) == ("queued", "called")  # still waiting; nothing adopted
    assert job.images.count() == 0
