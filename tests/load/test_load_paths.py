"""`make load` cannot rot in silence: the paths its people ask for are the routes they mean, what
it reads out of pages is there in real pages, and its locustfile runs for a few seconds against a
live server without a failed request."""

from __future__ import annotations

import json
import subprocess
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import resolve
from django.utils import timezone

from gallery.models import Image, Job, JobState, QuotaSnapshot
from gallery.services.jobs import JobRequest, job_submit
from tests.load import paths
from tests.load.run import ROOT, LocustResult, locust_command, locust_env

PAGE = 48  # the gallery's page size


@pytest.fixture
def gallery(workspace, member):
    """60 images with thumbnail files: a full first page and a next one of 12."""
    QuotaSnapshot.objects.create(workspace=workspace, kind="credits", monthly_available=10)
    images = Image.objects.bulk_create(
        Image(
            workspace=workspace,
            author=member,
            prompt=f"a lighthouse in watercolour {i}",
            model_id="flux-pro",
            review_state="approved",
            thumbnail=f"images/{workspace.pk}/{i}.thumb.webp",
        )
        for i in range(60)
    )
    for image in images:
        default_storage.save(image.thumbnail.name, ContentFile(b"RIFF thumbnail"))
    return workspace


@pytest.fixture
def submit(studio, member):
    """Queue a job as the member, as the generate form would (no worker runs it)."""

    def make(prompt: str) -> Job:
        request = JobRequest("text2image", prompt, "nano-banana-2", {"n": 1})
        return job_submit(workspace=studio, author=member, request=request, idempotency_key=prompt)

    return make


def _route(url: str) -> tuple[str, dict[str, object]]:
    match = resolve(urlsplit(url).path)
    return match.view_name, match.kwargs


def test_its_paths_are_the_routes_they_name():
    assert _route(paths.gallery("studio")) == ("gallery:home", {"slug": "studio"})
    assert _route(paths.gallery("studio", q="fox")) == ("gallery:home", {"slug": "studio"})
    assert _route(paths.generate("studio")) == ("gallery:generate", {"slug": "studio"})
    assert _route(paths.image_page("studio", 7)) == (
        "gallery:image_detail",
        {"slug": "studio", "image_id": 7},
    )
    assert _route(paths.job_card("studio", 9)) == (
        "gallery:job_card",
        {"slug": "studio", "job_id": 9},
    )


@pytest.mark.parametrize(
    "host", ["http://localhost:8000", "https://127.0.0.1:8000", "http://10.0.0.5", "", "127.0.0.1"]
)
def test_it_refuses_any_host_but_loopback(host):
    with pytest.raises(ValueError, match=r"only against http://127\.0\.0\.1"):
        paths.refuse_unless_loopback(host)


def test_it_accepts_loopback():
    paths.refuse_unless_loopback("http://127.0.0.1:8123")


def test_it_reads_a_gallery_page_as_a_browser_does(member_client, gallery):
    response = member_client.get(paths.gallery(gallery.slug))
    page = response.content.decode()
    shown = [image.pk for image in response.context["page"].images]

    assert paths.image_ids(page, gallery.slug) == shown
    thumbnails = paths.thumbnails(page)
    assert len(thumbnails) == PAGE
    anonymous = Client()  # the signed URL is the whole permission
    # Served from the local disk, or a redirect to the bucket (locust follows it, as browsers do).
    served = 302 if settings.MEDIA_STORAGE == "s3" else 200
    assert {anonymous.get(url).status_code for url in thumbnails} == {served}

    next_url = paths.next_page(page)
    assert next_url is not None
    assert "&amp;" not in next_url
    rest = member_client.get(next_url, headers={"HX-Request": "true"})
    assert rest.status_code == 200
    rest_page = rest.content.decode()
    assert len(paths.image_ids(rest_page, gallery.slug)) == 60 - PAGE
    assert set(paths.image_ids(rest_page, gallery.slug)).isdisjoint(shown)
    assert paths.next_page(rest_page) is None


@pytest.mark.parametrize("filters", paths.FILTERS, ids=lambda f: ",".join(f.values()))
def test_every_filter_it_tries_is_one_the_gallery_applies(member_client, gallery, filters):
    response = member_client.get(paths.gallery(gallery.slug, **filters))

    assert response.status_code == 200
    assert not response.context["form"].errors
    assert sorted(response.context["filter"].query_string().split("&")) == sorted(
        f"{name}={value}" for name, value in filters.items()
    )


def test_its_filtered_next_page_keeps_the_filter(member_client, gallery):
    page = member_client.get(paths.gallery(gallery.slug, q="lighthouse")).content.decode()

    next_url = paths.next_page(page)
    assert next_url is not None
    assert "q=lighthouse" in next_url


def test_it_opens_an_image_as_a_page_and_in_the_lightbox(member_client, gallery):
    image = Image.objects.filter(workspace=gallery).first()
    url = paths.image_page(gallery.slug, image.pk)

    whole = member_client.get(url)
    lightbox = member_client.get(url, headers={"HX-Request": "true", "HX-Target": "lightbox"})

    assert whole.status_code == lightbox.status_code == 200
    assert b"<html" in whole.content
    assert lightbox.content.lstrip().startswith(b'<dialog class="lightbox"')


def test_it_finds_its_own_job_in_the_queue_the_submit_returns(member_client, studio, submit):
    # Another person signed in as the same member, whose job the queue shows first.
    other = submit("a lighthouse at dawn")
    Job.objects.filter(pk=other.pk).update(created_at=timezone.now() + timedelta(minutes=1))
    workbench = member_client.post(
        paths.generate(studio.slug),
        {
            "prompt": "a lighthouse at dusk",
            "model": "nano-banana-2",
            "n": "1",
            "aspect_ratio": "1:1",
            "output_format": "png",
            "idempotency_key": "load-test-1",
        },
        headers={"HX-Request": "true"},
    ).content.decode()

    job = Job.objects.get(prompt="a lighthouse at dusk")
    assert workbench.index(f'id="job-{other.pk}"') < workbench.index(f'id="job-{job.pk}"')
    assert paths.submitted_job(workbench, "a lighthouse at dusk") == job.pk
    assert paths.submitted_job(workbench, "a lighthouse at dawn") == other.pk
    assert paths.submitted_job(workbench, "a lighthouse") is None


def test_it_polls_a_job_card_until_the_job_ends(member_client, studio, submit):
    job = submit("a lighthouse at dusk")
    url = paths.job_card(studio.slug, job.pk)

    queued = member_client.get(url, headers={"HX-Request": "true"}).content.decode()
    Job.objects.filter(pk=job.pk).update(state=JobState.SUCCEEDED)
    done = member_client.get(url, headers={"HX-Request": "true"}).content.decode()

    assert 'class="job job-queued"' in queued
    assert paths.job_still_polling(queued)
    assert 'class="job job-succeeded"' in done
    assert not paths.job_still_polling(done)


def _plan(tmp_path: Path, slug: str, sessions: list[str], **bounds: int | bool) -> Path:
    plan = tmp_path / "plan.json"
    plan.write_text(
        json.dumps(
            {
                "slug": slug,
                "session_cookie": "sessionid",
                "sessions": sessions,
                "model": "nano-banana-2",
                **{"jobs": 1, "creators": 1, "max_requests": 500, **bounds},
            }
        )
    )
    return plan


def _run_locust(plan: Path, host: str, *, users: int, seconds: int):
    return subprocess.run(
        locust_command(host=host, users=users, seconds=seconds),
        cwd=ROOT,
        env=locust_env(plan),
        capture_output=True,
        text=True,
        timeout=seconds + 30,
    )


def _requests(result: LocustResult) -> dict[str, int]:
    return {page.name: page.requests for page in result.pages}


@pytest.mark.load
def test_its_locustfile_runs_without_a_failed_request(
    live_server, client_for, member, studio, gallery, tmp_path
):
    """Two people: one browses, one submits a job (no worker runs it) and polls its card; the run
    ends once that card has been polled (60 s at most: a busy machine is slow, not wrong)."""
    session = client_for(member).cookies["sessionid"].value
    plan = _plan(tmp_path, studio.slug, [session, session], end_when_watched=True)
    host = f"http://127.0.0.1:{urlsplit(live_server.url).port}"

    started = time.monotonic()
    done = _run_locust(plan, host, users=2, seconds=60)

    assert done.returncode == 0, done.stderr[-3000:]
    result = LocustResult.parse(done.stdout)
    assert result is not None
    assert result.errors == []
    assert _requests(result)["gallery, page 1"] >= 2
    assert _requests(result)["thumbnail (signed /t/ URL)"] >= 12
    assert _requests(result)["submit (generate form)"] == 1
    assert _requests(result)["job card poll (htmx)"] >= 1
    assert result.submitted == [Job.objects.get(workspace=studio).pk]
    assert time.monotonic() - started < 50  # it ended on the poll, not on the clock


@pytest.mark.load
def test_it_stops_at_its_request_count(live_server, client_for, member, gallery, tmp_path):
    session = client_for(member).cookies["sessionid"].value
    plan = _plan(tmp_path, gallery.slug, [session] * 3, jobs=0, creators=0, max_requests=20)
    host = f"http://127.0.0.1:{urlsplit(live_server.url).port}"

    started = time.monotonic()
    done = _run_locust(plan, host, users=3, seconds=60)

    assert done.returncode == 0, done.stderr[-3000:]
    assert time.monotonic() - started < 30
    result = LocustResult.parse(done.stdout)
    assert result is not None
    # Each person's page brings 12 thumbnails: the last ones in flight still finish.
    assert 20 <= result.total.requests <= 20 + 3 * 13


@pytest.mark.load
def test_its_locust_run_refuses_a_host_other_than_loopback(tmp_path):
    plan = _plan(tmp_path, "studio", ["x"], max_requests=1)

    done = _run_locust(plan, "http://example.com", users=1, seconds=2)

    assert done.returncode != 0
    assert "runs only against http://127.0.0.1" in done.stderr
    assert LocustResult.parse(done.stdout) is None  # nobody started
