"""The review queue: the filter's images one at a time (unreviewed first of all), judged with a
button or a key, each judgement recorded through the review service, then the next image."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from gallery.models import Favourite, Image, ReviewEvent, ReviewState
from tests.gallery.pictures import picture


@pytest.fixture
def three(workspace, owner) -> list[Image]:
    """Oldest first: the queue shows them newest first."""
    return [picture(workspace, author=owner, prompt=f"image {n}") for n in range(3)]


def queue_url(workspace) -> str:
    return reverse("gallery:review_queue", args=[workspace.slug])


def act(client, workspace, image, action: str, *, htmx: bool = False, **fields):
    url = reverse("gallery:review_queue_act", args=[workspace.slug, image.pk])
    data = {"action": action, "filter": "review=unreviewed", **fields}
    extra = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    return client.post(url, data, **extra)


def test_it_shows_the_newest_unreviewed_image_first(member_client, workspace, three):
    Image.objects.filter(pk=three[2].pk).update(review_state=ReviewState.APPROVED)
    page = member_client.get(queue_url(workspace)).content.decode()
    assert "image 1" in page
    assert "image 2" not in page
    assert "2 images in this queue" in page
    assert "Unreviewed images, newest first" in page


def test_approving_advances_to_the_next_image_and_records_it_via_the_service(
    member_client, member, workspace, three
):
    newest, middle = three[2], three[1]
    response = act(member_client, workspace, newest, "approve")
    assert response["Location"] == f"{queue_url(workspace)}?review=unreviewed&at={middle.pk}"
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Approved — 2 left"]
    event = ReviewEvent.objects.get()
    assert (event.image, event.actor, event.from_state, event.to_state) == (
        newest,
        member,
        ReviewState.UNREVIEWED,
        ReviewState.APPROVED,
    )


def test_with_htmx_the_next_image_replaces_the_current_one_and_the_status_is_announced(
    member_client, workspace, three
):
    response = act(member_client, workspace, three[2], "approve", htmx=True)
    html = response.content.decode()
    assert html.lstrip().startswith('<section id="queue-item"')
    assert "image 1" in html
    assert "image 2" not in html
    assert 'id="queue-status"' in html
    assert 'hx-swap-oob="innerHTML"' in html
    assert "Approved — 2 left" in html
    assert response["HX-Push-Url"].endswith(f"?review=unreviewed&at={three[1].pk}")


def test_rejecting_needs_a_reason_shown_next_to_its_field(member_client, workspace, three):
    html = act(member_client, workspace, three[2], "reject", htmx=True, note=" ").content.decode()
    assert 'id="note-reject-error"' in html
    assert "Say why it is rejected" in html
    assert "image 2" in html  # still the same image
    assert not ReviewEvent.objects.exists()
    # Without JavaScript: back to the same image, saying why.
    plain = act(member_client, workspace, three[2], "reject", note="")
    assert plain["Location"].endswith(f"at={three[2].pk}")
    act(member_client, workspace, three[2], "reject", note="Too dark")
    event = ReviewEvent.objects.get()
    assert (event.to_state, event.note) == (ReviewState.REJECTED, "Too dark")


def test_needs_changes_takes_a_note_too(member_client, workspace, three):
    act(member_client, workspace, three[2], "needs_changes", note="Crop the left edge")
    three[2].refresh_from_db()
    assert three[2].review_state == ReviewState.NEEDS_CHANGES


def test_favourite_toggles_and_stays_on_the_image(member_client, member, workspace, three):
    html = act(member_client, workspace, three[2], "favourite", htmx=True).content.decode()
    assert Favourite.objects.filter(user=member, image=three[2]).exists()
    assert 'aria-pressed="true"' in html
    assert "image 2" in html
    assert "Added to your favourites" in html
    act(member_client, workspace, three[2], "favourite")
    assert not Favourite.objects.exists()


def test_the_last_judgement_says_all_done(member_client, workspace, three):
    for image in reversed(three):
        response = act(member_client, workspace, image, "approve", htmx=True)
    html = response.content.decode()
    assert "Approved — all done" in html
    assert "Nothing left to review" in html


def test_previous_and_next_links_move_through_the_filter(member_client, workspace, three):
    page = member_client.get(queue_url(workspace), {"at": three[1].pk}).content.decode()
    assert f"at={three[2].pk}" in page  # previous: the newer one
    assert f"at={three[0].pk}" in page  # next: the older one
    partial = member_client.get(
        queue_url(workspace), {"at": three[0].pk}, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert partial.lstrip().startswith('<section id="queue-item"')


def test_any_review_state_can_be_asked_for_explicitly(member_client, workspace, three):
    Image.objects.update(review_state=ReviewState.APPROVED)
    page = member_client.get(queue_url(workspace), {"review": ""}).content.decode()
    assert "3 images in this queue" in page
    assert 'value="review="' in page  # kept through the next action


def test_viewers_do_not_review(viewer_client, workspace, three):
    assert viewer_client.get(queue_url(workspace)).status_code == 403
    assert act(viewer_client, workspace, three[0], "approve").status_code == 403
    assert not ReviewEvent.objects.exists()


def test_the_queue_page_costs_the_same_few_queries_however_long_the_queue(
    member_client, workspace, owner, django_assert_max_num_queries
):
    for n in range(3):
        picture(workspace, author=owner, prompt=f"short {n}")
    with django_assert_max_num_queries(11) as short:
        member_client.get(queue_url(workspace))
    for n in range(20):
        picture(workspace, author=owner, prompt=f"long {n}")
    with django_assert_max_num_queries(len(short.captured_queries)):
        member_client.get(queue_url(workspace))
