"""Media in a private S3-compatible bucket, against a real S3-protocol server (moto, in its own
process): the pipeline and the history mirror store there, members get presigned URLs after the
membership check, the bucket refuses everyone else, the ZIP streams from it, deleting deletes.

The `s3` fixture points this test's media at the bucket whatever the run's mode; under
`TEST_MEDIA_STORAGE=s3` the rest of the suite runs on it too (tests/environment.py)."""

from __future__ import annotations

import datetime as dt
import io
import re
import time
import zipfile
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from botocore.exceptions import ClientError
from django.test import Client
from django.urls import reverse

from accounts.models import Membership
from config.storage import storage_check
from gallery.models import Image
from gallery.services.images import image_delete
from gallery.services.jobs import JobRequest, job_submit
from gallery.services.sync import files_fetch_missing, sync_request, sync_run
from gallery.thumbnails import thumbnail_expiry, thumbnail_token
from tests.gallery.pictures import picture
from tests.gallery.running import run_until_done
from tests.s3server import fetch


def presigned_query(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


@pytest.fixture
def made(s3, submit) -> Image:
    """An image made by a real job through the sandbox, stored in the bucket."""
    job = submit()
    run_until_done(job)
    assert job.state == "succeeded", job.error
    return job.images.get()


def test_the_pipeline_stores_the_original_and_the_thumbnail_in_the_bucket(s3, made, studio):
    assert made.file.name.startswith(f"images/{studio.pk}/")
    assert made.thumbnail.name.endswith(".thumb.webp")
    assert {made.file.name, made.thumbnail.name} <= s3.keys(f"images/{studio.pk}/")
    original = s3.read(made.file.name)
    assert len(original) == made.bytes
    assert s3.read(made.thumbnail.name)[:4] == b"RIFF"
    head = s3.client().head_object(Bucket=s3.bucket, Key=made.thumbnail.name)
    assert head["ContentType"] == "image/webp"
    assert head["CacheControl"] == "private, max-age=86400, immutable"


def test_the_bucket_refuses_anonymous_reads(s3, made):
    for key in (made.file.name, made.thumbnail.name):
        assert requests.get(f"{s3.endpoint_url}/{s3.bucket}/{key}", timeout=10).status_code == 403
    acl = s3.client().get_object_acl(Bucket=s3.bucket, Key=made.file.name)
    assert [grant["Grantee"].get("URI") for grant in acl["Grants"]] == [None]  # the owner only


def test_the_history_mirror_fetches_into_the_bucket(s3, studio, sandbox):
    sandbox.seed_history(2)
    sync_run(run_id=sync_request(workspace=studio, mode="full").pk)
    assert files_fetch_missing(workspace=studio) == (2, False)
    for image in Image.objects.filter(workspace=studio):
        assert {image.file.name, image.thumbnail.name} <= s3.keys()
        assert len(s3.read(image.file.name)) == image.bytes


def test_the_gallery_thumbnails_redirect_to_the_bucket_without_a_query(
    s3, made, member_client, studio, django_assert_num_queries
):
    page = member_client.get(reverse("gallery:home", args=[studio.slug]))
    (url,) = re.findall(r'src="(/t/[^"]+)"', page.content.decode())
    with django_assert_num_queries(0):
        response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(f"{s3.endpoint_url}/{s3.bucket}/")
    # Cached privately for half the presigned URL's life, never past the token's own expiry.
    assert response["Cache-Control"] == "private, max-age=150"
    got = fetch(response)
    assert (got.status, got.content) == (200, s3.read(made.thumbnail.name))


def test_a_thumbnail_redirect_is_never_cached_past_its_token(s3, made, client):
    token = thumbnail_token(made, expires=int(time.time()) + 60)
    response = client.get(reverse("thumbnail", args=[token]))
    max_age = int(response["Cache-Control"].removeprefix("private, max-age="))
    assert 50 <= max_age <= 60


def test_the_download_redirects_to_a_short_lived_presigned_url(s3, made, member_client, studio):
    url = reverse("gallery:image_file", args=[studio.slug, made.pk])
    response = member_client.get(url, {"download": "1"})

    assert response.status_code == 302
    query = presigned_query(response["Location"])
    assert query["X-Amz-Expires"] == "300"
    signed_at = dt.datetime.strptime(query["X-Amz-Date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    assert abs((dt.datetime.now(dt.UTC) - signed_at).total_seconds()) < 60
    assert "X-Amz-Signature" in query
    got = fetch(response)
    assert got.status == 200
    assert got.content == s3.read(made.file.name)
    name = f"darkroom-{made.pk}.{made.format}"
    assert got.headers["Content-Disposition"] == f'attachment; filename="{name}"'
    # Without the signature the same object is refused.
    unsigned = response["Location"].split("?")[0]
    assert requests.get(unsigned, timeout=10).status_code == 403


def test_the_url_is_issued_only_after_the_membership_check(
    s3, made, client, outsider_client, viewer_client, studio
):
    for name in ("gallery:image_file", "gallery:image_thumbnail"):
        url = reverse(name, args=[studio.slug, made.pk])
        assert outsider_client.get(url).status_code == 404
        assert client.get(url)["Location"].startswith(reverse("login"))  # not the bucket
        viewed = viewer_client.get(url)
        assert viewed["Location"].startswith(s3.endpoint_url)
        assert fetch(viewed).status == 200


def test_the_presigned_lifetime_comes_from_the_settings(s3, made, member_client, studio, settings):
    settings.S3_PRESIGN_SECONDS = 60
    response = member_client.get(reverse("gallery:image_file", args=[studio.slug, made.pk]))
    assert presigned_query(response["Location"])["X-Amz-Expires"] == "60"
    assert response["Cache-Control"] == "private, max-age=30"


def test_an_edit_reads_its_source_from_the_bucket(s3, nanogpt_studio, submit, sandbox, member):
    original = submit(model="openai/gpt-image-1")
    run_until_done(original)
    parent = original.images.get()
    edit = job_submit(
        workspace=nanogpt_studio,
        author=member,
        request=JobRequest("edit", "make it night", "openai/gpt-image-1", {"n": 1}, parent),
        idempotency_key="edit-1",
    )
    run_until_done(edit)
    assert edit.state == "succeeded", edit.error
    assert edit.images.get().file.name in s3.keys(f"images/{nanogpt_studio.pk}/")


def test_the_zip_streams_the_originals_from_the_bucket(s3, viewer_client, workspace, member):
    first = picture(workspace, author=member, prompt="first", colour=(10, 20, 30))
    second = picture(workspace, author=member, prompt="second", colour=(200, 20, 30))
    assert {first.file.name, second.file.name} <= s3.keys()

    response = viewer_client.post(
        reverse("gallery:images_bulk", args=[workspace.slug]),
        {"action": "download", "image": [str(first.pk), str(second.pk)]},
    )

    assert response.streaming
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.testzip() is None
    assert archive.read(f"{second.pk}-second.png") == s3.read(second.file.name)
    assert archive.read(f"{first.pk}-first.png") == s3.read(first.file.name)

    # An object gone from the bucket is left out, as a file gone from the disk is.
    s3.client().delete_object(Bucket=s3.bucket, Key=first.file.name)
    response = viewer_client.post(
        reverse("gallery:images_bulk", args=[workspace.slug]),
        {"action": "download", "image": [str(first.pk), str(second.pk)]},
    )
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.namelist() == [f"{second.pk}-second.png", "manifest.csv"]


def test_deleting_an_image_deletes_its_objects(s3, made, member_client, studio, member):
    keys = {made.file.name, made.thumbnail.name}
    assert keys <= s3.keys()
    image_delete(image=made, membership=Membership.objects.get(user=member, workspace=studio))
    assert not keys & s3.keys()


def test_the_storage_check_reaches_the_bucket(s3, settings):
    storage_check()
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            **settings.STORAGES["default"],
            "OPTIONS": {**settings.STORAGES["default"]["OPTIONS"], "bucket_name": "no-such"},
        },
    }
    with pytest.raises(ClientError, match="404"):
        storage_check()


def test_the_storage_check_makes_the_local_media_folder(settings, tmp_path):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    }
    settings.MEDIA_ROOT = tmp_path / "media"
    storage_check()
    assert (tmp_path / "media").is_dir()


def test_a_prefix_keeps_every_object_in_its_folder(
    s3, settings, submit, member_client, viewer_client, studio
):
    default = settings.STORAGES["default"]
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {**default, "OPTIONS": {**default["OPTIONS"], "location": "darkroom"}},
    }
    job = submit()
    run_until_done(job)
    image = job.images.get()
    keys = {f"darkroom/{image.file.name}", f"darkroom/{image.thumbnail.name}"}
    assert keys <= s3.keys("darkroom/")

    token = thumbnail_token(image, expires=thumbnail_expiry())
    assert fetch(member_client.get(reverse("thumbnail", args=[token]))).status == 200
    download = member_client.get(reverse("gallery:image_file", args=[studio.slug, image.pk]))
    assert fetch(download).content == s3.read(f"darkroom/{image.file.name}")
    response = viewer_client.post(
        reverse("gallery:images_bulk", args=[studio.slug]),
        {"action": "download", "image": [str(image.pk)]},
    )
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert len(archive.namelist()) == 2  # the original and the manifest
