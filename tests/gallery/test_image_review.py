"""Judging an image on its page: review states and their history, comments, favourites."""

from __future__ import annotations

import pytest
from django.urls import reverse

from gallery.models import Comment, Favourite, Image, ReviewEvent, ReviewState


@pytest.fixture
def image(workspace, member) -> Image:
    return Image.objects.create(workspace=workspace, author=member, prompt="a lighthouse")


def _url(name: str, image: Image, *args: int) -> str:
    return reverse(f"gallery:{name}", args=[image.workspace.slug, image.pk, *args])


def _review(client, image: Image, state: str, note: str = "", **headers: str):
    return client.post(_url("image_review", image), {"state": state, "note": note}, **headers)


HTMX = {"HTTP_HX_REQUEST": "true"}


# --- Review -------------------------------------------------------------------------------------


def test_a_member_approves_and_the_change_is_recorded(member_client, member, image):
    response = _review(member_client, image, ReviewState.APPROVED)
    assert response.status_code == 302
    assert response["Location"] == _url("image_detail", image)
    image.refresh_from_db()
    assert image.review_state == ReviewState.APPROVED
    event = ReviewEvent.objects.get(image=image)
    assert (event.actor, event.from_state, event.to_state) == (
        member,
        ReviewState.UNREVIEWED,
        ReviewState.APPROVED,
    )


@pytest.mark.parametrize(
    ("state", "asked"),
    [
        (ReviewState.REJECTED, "Say why it is rejected"),
        (ReviewState.NEEDS_CHANGES, "Say what needs to change"),
    ],
)
def test_rejecting_or_asking_for_changes_needs_a_reason_shown_next_to_the_field(
    member_client, image, state, asked
):
    response = _review(member_client, image, state, note="   ", **HTMX)
    html = response.content.decode()
    assert response.status_code == 200  # htmx swaps the section with the error in it
    assert asked in html
    assert html.index('name="note"') < html.index(asked)  # under the field, not at the top
    image.refresh_from_db()
    assert image.review_state == ReviewState.UNREVIEWED
    assert not ReviewEvent.objects.exists()


def test_without_javascript_a_missing_reason_shows_the_page_again_with_422(member_client, image):
    response = _review(member_client, image, ReviewState.REJECTED)
    assert response.status_code == 422
    assert "Say why it is rejected" in response.content.decode()
    assert "<h1" in response.content.decode()  # the whole page


def test_a_rejection_with_a_reason_goes_into_the_history_with_the_reason(
    member_client, owner_client, image
):
    _review(member_client, image, ReviewState.REJECTED, note="Hands have six fingers")
    response = _review(owner_client, image, ReviewState.NEEDS_CHANGES, note="Fix the hands", **HTMX)
    html = response.content.decode()
    assert 'id="review"' in html
    assert "Needs changes</span>" in html  # the badge
    assert "Hands have six fingers" in html
    assert "Fix the hands" in html
    assert html.index("Fix the hands") < html.index("Hands have six fingers")  # newest first
    events = list(ReviewEvent.objects.order_by("pk").values_list("from_state", "to_state"))
    assert events == [
        (ReviewState.UNREVIEWED, ReviewState.REJECTED),
        (ReviewState.REJECTED, ReviewState.NEEDS_CHANGES),
    ]


def test_an_image_goes_back_to_unreviewed_without_a_note(member_client, image):
    _review(member_client, image, ReviewState.APPROVED)
    _review(member_client, image, ReviewState.UNREVIEWED)
    image.refresh_from_db()
    assert image.review_state == ReviewState.UNREVIEWED
    assert ReviewEvent.objects.count() == 2


def test_approving_twice_records_one_change(member_client, image):
    _review(member_client, image, ReviewState.APPROVED)
    _review(member_client, image, ReviewState.APPROVED)
    assert ReviewEvent.objects.count() == 1


def test_an_unknown_state_is_refused(member_client, image):
    response = _review(member_client, image, "published", **HTMX)
    assert "not one of the available choices" in response.content.decode()
    assert not ReviewEvent.objects.exists()


def test_a_viewer_sees_the_state_and_history_but_cannot_review(viewer_client, member_client, image):
    _review(member_client, image, ReviewState.REJECTED, note="Too dark")
    page = viewer_client.get(_url("image_detail", image)).content.decode()
    assert "Rejected</span>" in page
    assert "Too dark" in page
    assert _url("image_review", image) not in page  # no buttons
    assert _review(viewer_client, image, ReviewState.APPROVED).status_code == 403
    image.refresh_from_db()
    assert image.review_state == ReviewState.REJECTED


def test_review_notes_are_escaped_and_keep_their_line_breaks(member_client, image):
    _review(member_client, image, ReviewState.REJECTED, note="<b>no</b>\nsecond line")
    page = member_client.get(_url("image_detail", image)).content.decode()
    assert "&lt;b&gt;no&lt;/b&gt;<br>second line" in page


def test_a_review_from_a_filtered_page_returns_to_it(member_client, image):
    url = _url("image_review", image) + "?review=unreviewed&sort=oldest"
    response = member_client.post(url, {"state": ReviewState.APPROVED})
    assert response["Location"] == _url("image_detail", image) + "?review=unreviewed&sort=oldest"


# --- Comments -----------------------------------------------------------------------------------


def test_a_viewer_comments_and_everyone_sees_author_time_and_text(
    viewer_client, member_client, viewer, image
):
    response = viewer_client.post(_url("comment_add", image), {"body": "Love the light"}, **HTMX)
    assert response.status_code == 200
    comment = Comment.objects.get()
    assert (comment.author, comment.body) == (viewer, "Love the light")
    page = member_client.get(_url("image_detail", image)).content.decode()
    assert "Love the light" in page
    assert viewer.display_name in page
    assert "just now" in page


def test_comments_escape_html_and_keep_line_breaks(member_client, image):
    member_client.post(_url("comment_add", image), {"body": "<script>alert(1)</script>\nnext line"})
    page = member_client.get(_url("image_detail", image)).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;<br>next line" in page


def test_an_empty_comment_is_refused_next_to_the_field(member_client, image):
    response = member_client.post(_url("comment_add", image), {"body": "  "}, **HTMX)
    html = response.content.decode()
    assert "Write something first." in html
    assert html.index('name="body"') < html.index("Write something first.")
    assert not Comment.objects.exists()


def test_a_too_long_comment_is_refused_saying_how_long_it_is(member_client, image):
    response = member_client.post(_url("comment_add", image), {"body": "x" * 2001})
    assert response.status_code == 422
    assert "Keep it under 2000 characters (2001 now)" in response.content.decode()


def test_without_javascript_a_comment_returns_to_it_on_the_page(member_client, image):
    response = member_client.post(_url("comment_add", image), {"body": "Nice"})
    comment = Comment.objects.get()
    assert response["Location"] == f"{_url('image_detail', image)}#comment-{comment.pk}"


def test_people_delete_their_own_comments_and_admins_any(client_for, viewer, member, owner, image):
    mine = Comment.objects.create(image=image, author=viewer, body="mine")
    theirs = Comment.objects.create(image=image, author=member, body="theirs")
    viewer_client = client_for(viewer)
    page = viewer_client.get(_url("image_detail", image)).content.decode()
    assert _url("comment_delete", image, mine.pk) in page
    assert _url("comment_delete", image, theirs.pk) not in page
    assert viewer_client.post(_url("comment_delete", image, theirs.pk)).status_code == 403
    response = viewer_client.post(_url("comment_delete", image, mine.pk), **HTMX)
    assert response.status_code == 200
    assert "mine" not in response.content.decode().split('id="comments"')[1]
    client_for(owner).post(_url("comment_delete", image, theirs.pk))
    assert not Comment.objects.exists()


def test_a_comment_is_deleted_only_through_its_own_image(member_client, member, workspace, image):
    other = Image.objects.create(workspace=workspace, prompt="other")
    comment = Comment.objects.create(image=other, author=member, body="elsewhere")
    assert member_client.post(_url("comment_delete", image, comment.pk)).status_code == 404
    assert Comment.objects.filter(pk=comment.pk).exists()


def test_the_page_lists_comments_without_a_query_per_comment(
    member_client, image, member, viewer, django_assert_max_num_queries
):
    Comment.objects.create(image=image, author=member, body="first")
    with django_assert_max_num_queries(100) as few:
        member_client.get(_url("image_detail", image))
    for i in range(10):
        Comment.objects.create(image=image, author=viewer if i % 2 else member, body=f"c{i}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        member_client.get(_url("image_detail", image))


# --- Favourites ---------------------------------------------------------------------------------


def test_a_viewer_marks_a_favourite_and_the_button_says_it_is_pressed(viewer_client, viewer, image):
    response = viewer_client.post(_url("image_favourite", image), {"favourite": "1"}, **HTMX)
    html = response.content.decode()
    assert 'aria-pressed="true"' in html
    assert 'name="favourite" value="0"' in html  # pressing again unmarks it
    assert Favourite.objects.filter(image=image, user=viewer).exists()
    viewer_client.post(_url("image_favourite", image), {"favourite": "0"})
    assert not Favourite.objects.exists()


def test_favourites_are_per_person(client_for, member, viewer, image):
    client_for(member).post(_url("image_favourite", image), {"favourite": "1"})
    mine = client_for(member).get(_url("image_detail", image)).content.decode()
    theirs = client_for(viewer).get(_url("image_detail", image)).content.decode()
    assert 'aria-pressed="true"' in mine
    assert 'aria-pressed="false"' in theirs


def test_marking_a_favourite_twice_keeps_one(member_client, image):
    for _ in range(2):
        response = member_client.post(_url("image_favourite", image), {"favourite": "1"})
        assert response.status_code == 302
    assert Favourite.objects.count() == 1


def test_a_favourite_without_a_yes_or_no_is_a_bad_request(member_client, image):
    assert member_client.post(_url("image_favourite", image), {}).status_code == 400
    assert not Favourite.objects.exists()
