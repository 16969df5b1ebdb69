"""Signed thumbnail URLs: handed out only on members' pages, served with no query, refused when
tampered with, expired or pointed at any other file."""

from __future__ import annotations

import re
import time

import pytest
from django.core import signing
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse

from accounts.models import Workspace
from gallery.models import Image
from gallery.services.images import image_delete
from gallery.thumbnails import (
    SALT,
    WINDOW_SECONDS,
    thumbnail_expiry,
    thumbnail_grant,
    thumbnail_token,
)
from tests.factories import WorkspaceFactory
from tests.s3server import fetch, local_media_only

WEBP = b"RIFF\x1a\x00\x00\x00WEBPVP8L a thumbnail's bytes"


def make_image(workspace: Workspace, author=None, name: str = "a", content: bytes = WEBP) -> Image:
    image = Image.objects.create(workspace=workspace, author=author, prompt=f"prompt {name}")
    image.thumbnail.save(f"{name}.thumb.webp", ContentFile(content), save=False)
    image.file.save(f"{name}.png", ContentFile(b"\x89PNG original"), save=True)
    return image


def thumbnail_urls(html: str) -> list[str]:
    return re.findall(r'src="(/t/[^"]+)"', html)


def signed(payload: list[object]) -> str:
    return signing.Signer(salt=SALT).sign_object(payload, compress=False)


@pytest.fixture
def image(workspace, member) -> Image:
    return make_image(workspace, member)


def test_a_members_gallery_page_hands_out_urls_that_work(member_client, workspace, image):
    page = member_client.get(reverse("gallery:home", args=[workspace.slug]))
    (url,) = thumbnail_urls(page.content.decode())
    response = Client().get(url)
    assert response["Cache-Control"].startswith("private, max-age=")
    got = fetch(response)
    assert (got.status, got.content) == (200, WEBP)
    assert got.headers["Content-Type"] == "image/webp"


@pytest.mark.parametrize("signed_in", [True, False])
def test_it_serves_a_thumbnail_with_no_query(
    signed_in, member_client, image, django_assert_num_queries
):
    client = member_client if signed_in else Client()
    url = reverse("thumbnail", args=[thumbnail_token(image, expires=thumbnail_expiry())])
    with django_assert_num_queries(0):
        response = client.get(url)
        assert fetch(response).content == WEBP


def test_urls_stay_the_same_within_a_window_so_browsers_cache_them(image):
    start = 1_800_000_000 // WINDOW_SECONDS * WINDOW_SECONDS
    first = thumbnail_token(image, expires=thumbnail_expiry(start + 1))
    later = thumbnail_token(image, expires=thumbnail_expiry(start + WINDOW_SECONDS - 1))
    assert first == later
    assert thumbnail_expiry(start + WINDOW_SECONDS) > thumbnail_expiry(start)


def test_a_url_is_valid_for_one_to_two_windows(image):
    issued = 1_800_000_000.0
    token = thumbnail_token(image, expires=thumbnail_expiry(issued))
    assert thumbnail_grant(token, now=issued + WINDOW_SECONDS) is not None
    assert thumbnail_grant(token, now=issued + 2 * WINDOW_SECONDS) is None


def test_it_refuses_an_expired_url(client, image):
    token = thumbnail_token(image, expires=int(time.time()) - 1)
    assert client.get(reverse("thumbnail", args=[token])).status_code == 404


@local_media_only  # with a bucket: test_media_storage.py
def test_the_cache_lifetime_ends_when_the_url_expires(client, image):
    token = thumbnail_token(image, expires=int(time.time()) + 600)
    max_age = int(
        client.get(reverse("thumbnail", args=[token]))["Cache-Control"].split("=")[1].split(",")[0]
    )
    assert 590 <= max_age <= 600


def test_it_refuses_a_tampered_url(client, image):
    token = thumbnail_token(image, expires=thumbnail_expiry())
    payload, _, signature = token.rpartition(":")
    for forged in (
        f"{payload}:{signature[:-1]}{'A' if signature[-1] != 'A' else 'B'}",
        f"{payload[:-2]}xx:{signature}",
        payload,
        "garbage",
        signing.Signer(salt="another-salt").sign_object(
            [image.workspace_id, image.thumbnail.name, thumbnail_expiry()]
        ),
    ):
        assert client.get(reverse("thumbnail", args=[forged])).status_code == 404


def test_each_url_opens_its_own_file_only(client, workspace, image):
    other = make_image(workspace, name="b", content=b"the other thumbnail")
    for shown, expected in ((image, WEBP), (other, b"the other thumbnail")):
        token = thumbnail_token(shown, expires=thumbnail_expiry())
        assert fetch(client.get(reverse("thumbnail", args=[token]))).content == expected


@pytest.mark.parametrize(
    "path",
    [
        "images/{other}/a.thumb.webp",  # another workspace's folder, under this one's id
        "images/{ws}/../{other}/a.thumb.webp",
        "images/{ws}/../../config/settings.py",
        "/etc/passwd",
        "images/{ws}/sub/a.thumb.webp",
        "images/{ws}/..\\..\\secret",
        "images/{ws}//a.thumb.webp",
        "media/images/{ws}/a.thumb.webp",
        "images/{ws}/a.png",  # the original: only through the membership-checked URL
    ],
)
def test_it_serves_nothing_outside_the_workspaces_own_folder(client, image, path):
    other = WorkspaceFactory()
    make_image(other)
    ws = image.workspace_id
    # Signed with the real key, as a leaked key or a bug would: the path check still holds.
    token = signed([ws, path.format(ws=ws, other=other.pk), thumbnail_expiry()])
    assert client.get(reverse("thumbnail", args=[token])).status_code == 404


def test_a_token_for_another_workspace_opens_only_that_workspaces_file(client, image):
    other = WorkspaceFactory()
    token = signed([other.pk, image.thumbnail.name, thumbnail_expiry()])
    assert client.get(reverse("thumbnail", args=[token])).status_code == 404


def test_an_outsider_never_sees_a_url(outsider_client, workspace, image):
    response = outsider_client.get(reverse("gallery:home", args=[workspace.slug]))
    assert response.status_code == 404
    assert not thumbnail_urls(response.content.decode())


def test_a_url_works_signed_out_until_it_expires(member_client, workspace, image):
    """By design: the URL is a capability (README, "Using it", roles)."""
    page = member_client.get(reverse("gallery:home", args=[workspace.slug]))
    (url,) = thumbnail_urls(page.content.decode())
    member_client.logout()
    assert fetch(member_client.get(url)).status == 200
    token = url.removeprefix("/t/").rstrip("/")
    assert thumbnail_grant(token, now=time.time() + 2 * WINDOW_SECONDS) is None


def test_a_deleted_images_url_stops_working(client, image, workspace, member):
    from accounts.models import Membership

    url = reverse("thumbnail", args=[thumbnail_token(image, expires=thumbnail_expiry())])
    image_delete(image=image, membership=Membership.objects.get(user=member))
    assert fetch(client.get(url)).status in (403, 404)  # a bucket may say 403 for a missing key


def test_originals_still_need_membership(client, outsider_client, workspace, image):
    url = reverse("gallery:image_file", args=[workspace.slug, image.pk])
    assert outsider_client.get(url).status_code == 404
    assert client.get(url).status_code == 302  # to the login page


def test_the_fast_path_answers_before_sessions_and_auth(member_client, image):
    url = reverse("thumbnail", args=[thumbnail_token(image, expires=thumbnail_expiry())])
    response = member_client.get(url)
    assert "Cookie" not in response.get("Vary", "")  # the session was never looked at
    assert response["X-Content-Type-Options"] == "nosniff"  # the security middleware ran
    assert member_client.post(url).status_code == 405
    assert member_client.get(f"{url}extra/").status_code == 404


def test_a_new_secret_key_voids_the_urls_unless_the_old_one_is_a_fallback(image, settings):
    token = thumbnail_token(image, expires=thumbnail_expiry())
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY = "a-new-key-" + "x" * 50
    assert thumbnail_grant(token) is None
    settings.SECRET_KEY_FALLBACKS = [old_key]
    assert thumbnail_grant(token) is not None


@pytest.mark.parametrize("name", ["images/1/a.thumb.webp", "images/7/é ü.thumb.webp"])
def test_a_token_is_what_djangos_signer_makes(image, settings, name):
    """thumbnail_token signs faster by hand: the same token as Signer.sign_object, any key."""
    image.thumbnail.name = name
    for key in (settings.SECRET_KEY, "another secret ✓"):
        settings.SECRET_KEY = key
        expected = signing.Signer(salt=SALT).sign_object(
            [image.workspace_id, name, 1_800_000_000], compress=False
        )
        assert thumbnail_token(image, expires=1_800_000_000) == expected
