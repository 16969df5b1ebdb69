"""Listing images through the API (the gallery's filters, a keyset cursor, a fixed number of
queries) and downloading an original as the gallery's Download does."""

from __future__ import annotations

import pytest
from django.urls import reverse

from gallery.models import Favourite, Image
from tests.gallery.pictures import picture, png_bytes
from tests.s3server import fetch

# The token (with its owner and workspace), the membership, and the page of images. The
# token's last use is written at most once a minute, so not on these requests.
LIST_QUERIES = 3


def images_url() -> str:
    return reverse("api:image_list")


@pytest.fixture
def many(studio, member, owner):
    Image.objects.bulk_create(
        Image(
            workspace=studio,
            author=member if i % 2 else owner,
            prompt=f"a lighthouse {i}" if i % 3 else f"a harbour {i}",
            width=64,
            height=64,
        )
        for i in range(30)
    )
    return Image.objects.filter(workspace=studio)


def test_it_pages_with_a_cursor_without_loss_or_repeat(member_api, many):
    seen: list[int] = []
    cursor = None
    for _ in range(5):
        params = {"limit": 12, **({"cursor": cursor} if cursor else {})}
        page = member_api.get(images_url(), params).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == 30
    assert seen == list(many.order_by("-created_at", "-id").values_list("pk", flat=True))


def test_it_applies_the_gallerys_filters(member_api, many, member):
    mine = member_api.get(images_url(), {"author": "me", "limit": 100}).json()["items"]
    assert len(mine) == 15
    assert {item["author"]["id"] for item in mine} == {member.pk}
    harbours = member_api.get(images_url(), {"q": "harbour", "limit": 100}).json()["items"]
    assert len(harbours) == 10
    assert all("harbour" in item["prompt"] for item in harbours)
    oldest = member_api.get(images_url(), {"sort": "oldest", "limit": 1}).json()["items"]
    assert oldest[0]["id"] == many.order_by("created_at", "id").first().pk
    liked = many.first()
    Favourite.objects.create(user=member, image=liked)
    favourites = member_api.get(images_url(), {"favourites": "true"}).json()["items"]
    assert [item["id"] for item in favourites] == [liked.pk]


def test_a_bad_filter_is_a_400_naming_it(member_api, many):
    response = member_api.get(images_url(), {"since": "yesterday", "review": "maybe"})
    assert response.status_code == 400
    assert set(response.json()["errors"]) == {"since", "review"}


@pytest.mark.parametrize(
    "params",
    [{}, {"q": "lighthouse", "author": "me"}, {"review": "approved", "sort": "oldest"}],
    ids=lambda p: ",".join(p) or "none",
)
def test_a_page_costs_the_same_queries_whatever_its_size(
    params, member_api, many, django_assert_num_queries
):
    member_api.get(images_url())  # the token's first use is written once
    with django_assert_num_queries(LIST_QUERIES):
        assert len(member_api.get(images_url(), {**params, "limit": 5}).json()["items"]) <= 5
    with django_assert_num_queries(LIST_QUERIES):
        member_api.get(images_url(), {**params, "limit": 100})


def test_it_downloads_the_original(member_api, studio, member):
    data = png_bytes(8, 6)
    image = picture(studio, author=member, content=data, size=(8, 6))
    listed = member_api.get(images_url()).json()["items"][0]
    assert listed["original_url"].endswith(reverse("api:image_original", args=[image.pk]))
    response = member_api.get(reverse("api:image_original", args=[image.pk]))
    got = fetch(response)  # served, or (media in a bucket) what the presigned URL answers
    assert got.status == 200
    assert got.content == data
    assert got.headers["Content-Disposition"].startswith("attachment")
    assert f"darkroom-{image.pk}.png" in got.headers["Content-Disposition"]


def test_it_redirects_to_a_signed_url_with_media_in_a_bucket(member_api, studio, member, s3):
    data = png_bytes(5, 5)
    image = picture(studio, author=member, content=data, size=(5, 5))
    response = member_api.get(reverse("api:image_original", args=[image.pk]))
    assert response.status_code == 302
    assert "X-Amz-Signature" in response["Location"]
    assert fetch(response).content == data


def test_a_deleted_image_is_gone(member_api, studio, member):
    image = picture(studio, author=member)
    Image.objects.filter(pk=image.pk).update(deleted_at=image.created_at)
    assert member_api.get(reverse("api:image_original", args=[image.pk])).status_code == 404
    assert member_api.get(images_url()).json()["items"] == []
