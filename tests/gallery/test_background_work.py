"""Background work is sent by task name once the request commits, with its timing intact."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils import timezone

from gallery.models import Image
from gallery.services.jobs import job_send
from gallery.services.quota import QUOTA_REFRESH_DEBOUNCE_SECONDS
from tests.gallery.running import run_until_done


def names(sent) -> list[str]:
    return [task.name for task in sent]


def test_it_sends_a_job_due_later_with_its_time(submit, sent_tasks):
    job = submit()
    at = timezone.now() + dt.timedelta(seconds=90)
    assert job_send(job.pk, at=at)
    (task,) = sent_tasks
    assert (task.name, task.args) == ("gallery.tasks.run_job", (job.pk,))
    assert task.eta == at


def test_it_sends_a_submitted_job_once_its_row_is_committed(
    submit, sent_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        job = submit()
        assert sent_tasks == []  # nothing before the commit
    for callback in callbacks:
        callback()
    (task,) = sent_tasks
    assert (task.name, task.args, task.eta) == ("gallery.tasks.run_job", (job.pk,), None)


def test_finished_jobs_ask_for_one_quota_refresh_a_few_seconds_later(
    submit, studio, sent_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run_until_done(submit())
        run_until_done(submit())
    refreshes = [task for task in sent_tasks if task.name == "gallery.tasks.refresh_quota"]
    (refresh,) = refreshes  # one for the burst
    assert refresh.args == (studio.pk,)
    wait = (refresh.eta - timezone.now()).total_seconds()
    assert QUOTA_REFRESH_DEBOUNCE_SECONDS - 2 < wait <= QUOTA_REFRESH_DEBOUNCE_SECONDS


def test_the_pages_buttons_queue_their_refresh_through_the_services(
    member_client, workspace, sent_tasks, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        member_client.post(reverse("gallery:quota_refresh", args=[workspace.slug]))
        member_client.post(reverse("gallery:catalog_refresh", args=[workspace.slug]))
    assert [(task.name, task.args) for task in sent_tasks] == [
        ("gallery.tasks.refresh_quota", (workspace.pk,)),
        ("gallery.tasks.refresh_catalog", (workspace.pk,)),
    ]


def test_deleting_an_image_queues_its_deletion_at_the_provider(
    member_client, studio, submit, sent_tasks, django_capture_on_commit_callbacks
):
    run_until_done(submit())
    image = Image.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        member_client.post(
            reverse("gallery:image_delete", args=[studio.slug, image.pk]), {"confirmed": "1"}
        )
    assert names(sent_tasks) == ["gallery.tasks.delete_at_provider"]
    assert sent_tasks[0].args == (image.pk,)
