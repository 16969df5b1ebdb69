"""The job card after the fact: a finished job whose images were deleted says so."""

from __future__ import annotations

import re

from django.urls import reverse

from accounts import crypto
from tests.gallery.running import run_until_done


def card(client, studio, job) -> str:
    url = reverse("gallery:job_card", args=[studio.slug, job.pk])
    return client.get(url, HTTP_HX_REQUEST="true").content.decode()


def meta(html: str) -> str:
    found = re.search(r'<p class="job-meta[^"]*">(.*?)</p>', html, re.S)
    assert found, html
    return " ".join(found.group(1).split())


def test_a_done_job_whose_image_was_deleted_says_so(member_client, studio, submit):
    job = submit()
    run_until_done(job)
    image = job.images.get()
    member_client.post(
        reverse("gallery:image_delete", args=[studio.slug, image.pk]), {"confirmed": "1"}
    )

    html = card(member_client, studio, job)

    assert "Done" in html
    assert "1 image (deleted) ·" in meta(html)
    assert "job-thumbs" not in html


def test_a_job_with_one_of_two_images_deleted_counts_it(member_client, studio, submit):
    job = submit(n=2)
    run_until_done(job)
    first = job.images.order_by("id").first()
    member_client.post(
        reverse("gallery:image_delete", args=[studio.slug, first.pk]), {"confirmed": "1"}
    )

    html = card(member_client, studio, job)

    assert "2 images (1 deleted) ·" in meta(html)
    assert html.count('class="job-thumbs"') == 1


def test_a_job_with_all_its_images_says_nothing_of_deletion(member_client, studio, submit):
    job = submit()
    run_until_done(job)

    assert "deleted" not in meta(card(member_client, studio, job))


def test_a_done_job_shows_the_images_it_took_from_the_quota(member_client, studio, submit):
    job = submit(n=2)
    run_until_done(job)

    assert "cost 2 images of the quota" in meta(card(member_client, studio, job))


def test_a_done_nanogpt_job_shows_what_it_cost(member_client, studio, submit, sandbox):
    credential = studio.credential
    credential.kind = "nanogpt"
    credential.secret_encrypted = crypto.encrypt(sandbox.api_key)
    credential.save()
    job = submit(model="hidream", n=2, size="1024x1024")
    run_until_done(job)

    assert "cost $0.0224" in meta(card(member_client, studio, job))
    image = job.images.first()
    page = member_client.get(reverse("gallery:image_detail", args=[studio.slug, image.pk]))
    assert "<dt>Cost</dt><dd>$0.0224 <span" in page.content.decode()


def test_its_last_poll_tells_the_author_that_the_job_ended(
    member_client, owner_client, studio, submit
):
    job = submit("a harbour in the fog")
    announcement = '<span id="announcer" hx-swap-oob="innerHTML">Done: a harbour in the fog</span>'
    assert "announcer" not in card(member_client, studio, job)  # still queued: nothing to say
    run_until_done(job)

    assert announcement in card(member_client, studio, job)
    assert "announcer" not in card(owner_client, studio, job)  # not theirs: not told


def test_a_thumbnail_says_what_its_link_does_and_is_described_by_the_prompt(
    member_client, studio, submit
):
    job = submit("a harbour in the fog", n=2)
    run_until_done(job)
    html = card(member_client, studio, job)

    assert f'<span class="job-prompt" id="job-{job.pk}-title"' in html
    links = re.findall(r'<a href="[^"]+" aria-describedby="([^"]+)"><img [^>]*alt="([^"]*)"', html)
    assert links == [
        (f"job-{job.pk}-title", "Open image 1 of 2"),
        (f"job-{job.pk}-title", "Open image 2 of 2"),
    ]
