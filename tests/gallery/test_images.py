"""Looking at, downloading and deleting images; the gallery grid."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from gallery.models import Image
from gallery.services.images import image_delete_at_provider
from tests.factories import MembershipFactory
from tests.gallery.running import run_until_done
from tests.s3server import fetch


@pytest.fixture
def image(submit) -> Image:
    job = submit()
    run_until_done(job)
    return job.images.get()


def test_members_see_download_and_open_the_image(member_client, studio, image):
    detail = member_client.get(reverse("gallery:image_detail", args=[studio.slug, image.pk]))
    html = detail.content.decode()
    assert image.prompt in html
    original = reverse("gallery:image_file", args=[studio.slug, image.pk])
    assert f'<a class="zoom" href="{original}" data-zoom' in html  # 100 % without JavaScript
    assert f'href="{original}?download=1">Download original</a>' in html
    response = member_client.get(
        reverse("gallery:image_file", args=[studio.slug, image.pk]), {"download": "1"}
    )
    assert response["Cache-Control"].startswith("private")
    got = fetch(response)
    assert got.headers["Content-Disposition"].startswith("attachment")
    assert got.content[:4] in (b"\x89PNG", b"\xff\xd8\xff\xe0", b"RIFF")
    thumb = member_client.get(reverse("gallery:image_thumbnail", args=[studio.slug, image.pk]))
    assert fetch(thumb).content[:4] == b"RIFF"


def test_outsiders_get_nothing_not_even_the_file(outsider_client, studio, image):
    for name in ("gallery:image_detail", "gallery:image_file", "gallery:image_thumbnail"):
        assert outsider_client.get(reverse(name, args=[studio.slug, image.pk])).status_code == 404


def test_without_javascript_deleting_asks_first_on_the_image_page(member_client, studio, image):
    url = reverse("gallery:image_delete", args=[studio.slug, image.pk])
    response = member_client.post(url)
    html = response.content.decode()
    assert response.status_code == 200
    assert "It cannot be undone." in html
    assert 'name="confirmed" value="1"' in html
    image.refresh_from_db()
    assert image.deleted_at is None


def test_the_author_deletes_here_and_at_the_provider(member_client, studio, image, sandbox):
    response = member_client.post(
        reverse("gallery:image_delete", args=[studio.slug, image.pk]), {"confirmed": "1"}
    )
    assert response["Location"] == reverse("gallery:home", args=[studio.slug])
    image.refresh_from_db()
    assert image.deleted_at is not None
    assert not image.file
    image_delete_at_provider(image_id=image.pk)  # the background task's work
    assert sandbox.calls("DELETE ds.history_item") == 1
    assert (
        member_client.get(reverse("gallery:image_detail", args=[studio.slug, image.pk])).status_code
        == 404
    )


def test_a_provider_404_counts_as_already_deleted(member_client, studio, image, sandbox):
    sandbox.faults(route="ds.history_item", method="DELETE", status=404, count=1)
    image_delete_at_provider(image_id=image.pk)  # does not raise: the task is done
    assert sandbox.calls("DELETE ds.history_item") == 1  # the 404 really came from the provider


def test_a_transient_provider_failure_is_left_for_the_task_to_retry(studio, image, sandbox):
    from providers import ServerError

    sandbox.faults(route="ds.history_item", method="DELETE", status=503, count=1)
    with pytest.raises(ServerError):
        image_delete_at_provider(image_id=image.pk)


def test_deleting_from_a_filtered_gallery_returns_to_it(member_client, studio, image):
    url = reverse("gallery:image_delete", args=[studio.slug, image.pk])
    response = member_client.post(f"{url}?review=unreviewed", {"confirmed": "1"})
    assert (
        response["Location"] == reverse("gallery:home", args=[studio.slug]) + "?review=unreviewed"
    )


def test_another_member_may_not_delete_but_an_admin_may(client_for, studio, image, owner):
    other = MembershipFactory(workspace=studio, role=Role.MEMBER).user
    url = reverse("gallery:image_delete", args=[studio.slug, image.pk])
    assert client_for(other).post(url).status_code == 403
    assert client_for(other).post(url, {"confirmed": "1"}).status_code == 403
    image.refresh_from_db()
    assert image.deleted_at is None
    client_for(owner).post(url, {"confirmed": "1"})
    image.refresh_from_db()
    assert image.deleted_at is not None


def test_the_grid_pages_with_a_cursor_and_a_constant_number_of_queries(
    member_client, studio, member
):
    Image.objects.bulk_create(
        Image(workspace=studio, author=member, prompt=f"image {i}", width=64, height=64)
        for i in range(60)
    )
    url = reverse("gallery:home", args=[studio.slug])
    with CaptureQueriesContext(connection) as first_page:
        page = member_client.get(url)
    html = page.content.decode()
    assert html.count('class="tile ') == 48
    cursor = page.context["page"].next_cursor
    rest = member_client.get(url, {"after": cursor}, HTTP_HX_REQUEST="true").content.decode()
    assert rest.count('class="tile ') == 12
    assert "Next page" not in rest
    shown = {int(x) for x in re.findall(r"href=\"[^\"]*/images/(\d+)/", html + rest)}
    assert len(shown) == 60
    Image.objects.bulk_create(
        Image(workspace=studio, author=member, prompt=f"more {i}", width=64, height=64)
        for i in range(40)
    )
    with CaptureQueriesContext(connection) as bigger:
        member_client.get(url)
    assert len(bigger.captured_queries) == len(first_page.captured_queries)


def test_pages_split_images_made_in_the_same_instant_without_loss_or_repeat(
    member_client, studio, member
):
    Image.objects.bulk_create(
        Image(workspace=studio, author=member, prompt=f"image {i}", width=64, height=64)
        for i in range(60)
    )
    Image.objects.filter(workspace=studio).update(created_at=timezone.now())  # one instant
    url = reverse("gallery:home", args=[studio.slug])
    first = member_client.get(url)
    with CaptureQueriesContext(connection) as second_page:
        rest = member_client.get(url, {"after": first.context["page"].next_cursor})
    html = first.content.decode() + rest.content.decode()
    shown = [int(x) for x in re.findall(r"href=\"[^\"]*/images/(\d+)/", html)]
    assert sorted(shown) == sorted(Image.objects.values_list("pk", flat=True))
    assert len(shown) == len(set(shown)) == 60
    # One row-value comparison, which the (workspace, created_at, id) index serves as a range.
    (page_query,) = [q["sql"] for q in second_page.captured_queries if "LIMIT 49" in q["sql"]]
    assert '("gallery_image"."created_at", "gallery_image"."id") < (' in page_query


def test_the_queue_lists_my_jobs_first_without_a_query_per_job(
    member_client, studio, submit, client_for, owner
):
    from gallery.services.jobs import JobRequest, job_submit

    mine = submit(prompt="mine")
    job_submit(
        workspace=studio,
        author=owner,
        request=JobRequest("text2image", "theirs", "nano-banana-2", {"n": 1}),
        idempotency_key="o",
    )
    url = reverse("gallery:generate", args=[studio.slug])
    html = member_client.get(url).content.decode()
    assert html.index(f'id="job-{mine.pk}"') < html.index("theirs")
    with CaptureQueriesContext(connection) as few:
        member_client.get(url)
    for i in range(5):
        submit(prompt=f"more {i}")
    with CaptureQueriesContext(connection) as many:
        member_client.get(url)
    assert len(many.captured_queries) == len(few.captured_queries)


def test_an_image_whose_file_is_missing_says_so_instead_of_failing(member_client, studio, image):
    image.file.storage.delete(image.file.name)
    detail = member_client.get(reverse("gallery:image_detail", args=[studio.slug, image.pk]))
    html = detail.content.decode()
    assert detail.status_code == 200
    assert "The image file is missing from storage" in html
    assert "?download=1" not in html
    response = member_client.get(reverse("gallery:image_file", args=[studio.slug, image.pk]))
    assert fetch(response).status in (403, 404)  # a bucket may say 403 for a missing key
