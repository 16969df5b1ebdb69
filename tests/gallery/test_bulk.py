"""Bulk actions from the gallery's bar: on the ticked images, or on every image of a filter.
Ids of other workspaces' images are ignored without a word; each action keeps its one-image rule."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from gallery.models import Collection, Favourite, Image, ReviewEvent, ReviewState
from tests.factories import WorkspaceFactory
from tests.gallery.pictures import picture


@pytest.fixture
def mine(workspace, member) -> list[Image]:
    return [picture(workspace, author=member, prompt=f"mine {n}") for n in range(3)]


@pytest.fixture
def theirs(workspace, owner) -> Image:
    return picture(workspace, author=owner, prompt="the owner's")


@pytest.fixture
def foreign(outsider) -> Image:
    return picture(outsider.memberships.get().workspace, author=outsider, prompt="elsewhere")


def bulk(client, workspace, action: str, images=(), **fields):
    data = {"action": action, "image": [str(i.pk) for i in images], **fields}
    return client.post(reverse("gallery:images_bulk", args=[workspace.slug]), data)


def said(response) -> list[str]:
    """What this response told the person (messages of earlier, unfollowed redirects left out)."""
    return [str(m) for m in get_messages(response.wsgi_request)][-1:]


def test_approving_records_each_change_and_ignores_other_workspaces_ids(
    member_client, workspace, mine, foreign, member
):
    response = bulk(member_client, workspace, "approve", [*mine, foreign])
    assert said(response) == ["Approved 3 images."]
    states = Image.objects.filter(workspace=workspace).values_list("review_state", flat=True)
    assert set(states) == {ReviewState.APPROVED}
    events = ReviewEvent.objects.filter(image__in=mine)
    assert events.count() == 3
    assert {(e.actor, e.from_state, e.to_state) for e in events} == {
        (member, ReviewState.UNREVIEWED, ReviewState.APPROVED)
    }
    foreign.refresh_from_db()
    assert foreign.review_state == ReviewState.UNREVIEWED
    assert not ReviewEvent.objects.filter(image=foreign).exists()


def test_approving_again_changes_nothing_and_says_so(member_client, workspace, mine):
    bulk(member_client, workspace, "approve", mine[:1])
    response = bulk(member_client, workspace, "approve", mine)
    assert said(response) == ["Approved 2 images (1 already approved)."]
    assert ReviewEvent.objects.count() == 3


def test_rejecting_needs_a_reason_which_every_event_keeps(member_client, workspace, mine):
    refused = bulk(member_client, workspace, "reject", mine, note="  ")
    assert "Say why" in said(refused)[0]
    assert not ReviewEvent.objects.exists()
    bulk(member_client, workspace, "reject", mine, note="Off brand colours")
    assert set(ReviewEvent.objects.values_list("note", flat=True)) == {"Off brand colours"}
    assert Image.objects.filter(review_state=ReviewState.REJECTED).count() == 3


def test_favouriting_is_personal_and_open_to_viewers(viewer_client, viewer, workspace, mine):
    response = bulk(viewer_client, workspace, "favourite", mine)
    assert response.status_code == 302
    assert said(response) == ["Added to your favourites: 3 images."]
    assert Favourite.objects.filter(user=viewer).count() == 3
    # ... but nothing else is.
    assert bulk(viewer_client, workspace, "approve", mine).status_code == 403
    assert bulk(viewer_client, workspace, "delete", mine).status_code == 403
    assert not ReviewEvent.objects.exists()


def test_adding_to_and_taking_out_of_a_collection(member_client, workspace, mine, foreign):
    board = Collection.objects.create(workspace=workspace, name="Spring campaign")
    board.images.add(mine[0])
    added = bulk(member_client, workspace, "collect", [*mine, foreign], collection=board.pk)
    assert said(added) == ["Added to “Spring campaign”: 2 images (1 already in it)."]
    assert set(board.images.all()) == set(mine)
    bulk(member_client, workspace, "uncollect", mine[:2], collection=board.pk)
    assert list(board.images.all()) == [mine[2]]


def test_a_collection_must_be_picked_and_be_of_this_workspace(member_client, workspace, mine):
    assert "Pick a collection." in said(bulk(member_client, workspace, "collect", mine))
    theirs = Collection.objects.create(workspace=WorkspaceFactory(), name="Theirs")
    response = bulk(member_client, workspace, "collect", mine, collection=theirs.pk)
    assert response.status_code == 404
    assert not theirs.items.exists()


def test_deleting_skips_the_images_a_member_may_not_delete_and_says_how_many(
    member_client, workspace, mine, theirs
):
    response = bulk(member_client, workspace, "delete", [*mine, theirs], confirmed="1")
    assert said(response) == [
        "Deleted 3 images (1 skipped: only their authors or an admin may delete them)."
    ]
    assert Image.objects.visible().filter(workspace=workspace).get() == theirs


def test_an_admin_deletes_anyones(owner_client, workspace, mine, theirs):
    bulk(owner_client, workspace, "delete", [*mine, theirs], confirmed="1")
    assert not Image.objects.visible().filter(workspace=workspace).exists()


def test_without_javascript_deleting_asks_first_and_posts_the_same_selection_again(
    member_client, workspace, mine, theirs
):
    asked = bulk(member_client, workspace, "delete", [*mine, theirs], next="/w/studio/?q=fox")
    assert asked.status_code == 200
    html = asked.content.decode()
    assert "Delete 4 images?" in html
    assert Image.objects.visible().filter(workspace=workspace).count() == 4  # nothing yet
    resent = [f'name="image" value="{image.pk}"' for image in [*mine, theirs]]
    assert all(field in html for field in resent)
    assert 'name="action" value="delete"' in html
    assert 'name="next" value="/w/studio/?q=fox"' in html
    assert 'name="confirmed" value="1"' in html
    question = html.split('<section class="card narrow">')[1]
    assert question.count('name="csrfmiddlewaretoken"') == 1  # its own, not the first form's


def test_select_all_in_a_filter_acts_on_every_image_it_holds_and_no_other(
    member_client, workspace, mine, theirs, foreign, member
):
    response = bulk(member_client, workspace, "approve", scope="filter", filter="author=me")
    assert said(response) == ["Approved 3 images."]
    assert set(Image.objects.filter(review_state=ReviewState.APPROVED)) == set(mine)
    # Back to the gallery, still filtered.
    assert response["Location"] == reverse("gallery:home", args=[workspace.slug]) + "?author=me"


def test_nothing_selected_is_said_not_done(member_client, workspace, mine):
    response = bulk(member_client, workspace, "approve")
    assert said(response) == ["Select some images first."]
    assert not ReviewEvent.objects.exists()


def test_it_goes_back_to_the_page_it_came_from_but_never_to_another_site(
    member_client, workspace, mine
):
    home = reverse("gallery:home", args=[workspace.slug])
    back = bulk(member_client, workspace, "favourite", mine, next=f"{home}?review=approved")
    assert back["Location"] == f"{home}?review=approved"
    away = bulk(member_client, workspace, "favourite", mine, next="https://evil.example/")
    assert away["Location"] == home


def test_the_filter_count_is_asked_only_by_the_bar(member_client, workspace, mine, theirs):
    url = reverse("gallery:images_bulk_count", args=[workspace.slug])
    assert member_client.get(url, {"author": "me"}).json() == {"count": 3}
    assert member_client.get(url).json() == {"count": 4}


def render_bar(workspace, user, query: str = "") -> str:
    """The bar as the gallery page includes it."""
    from django.http import QueryDict
    from django.template.loader import render_to_string
    from django.test import RequestFactory

    from accounts.access import get_membership
    from gallery import selectors
    from gallery.filters import GalleryFilter

    request = RequestFactory().get(reverse("gallery:home", args=[workspace.slug]) + "?" + query)
    request.user = user
    request.htmx = False
    get_membership(request, workspace.slug)
    image_filter, _ = GalleryFilter.from_query(QueryDict(query))
    context = {"filter": image_filter, "choices": selectors.filter_choices(workspace=workspace)}
    return render_to_string("gallery/bulk_bar.html", context, request=request)


def test_the_bar_posts_the_selection_with_the_filter_and_the_way_back(workspace, member, viewer):
    Collection.objects.create(workspace=workspace, name="Spring campaign")
    html = render_bar(workspace, member, "review=approved&author=me")
    assert f'action="{reverse("gallery:images_bulk", args=[workspace.slug])}"' in html
    assert 'name="filter" value="author=me&amp;review=approved"' in html
    assert 'name="next" value="/w/studio/?review=approved&amp;author=me"' in html
    assert all(f'value="{action}"' in html for action in ("approve", "reject", "collect", "delete"))
    assert "Spring campaign" in html
    # A viewer is offered what a viewer may do.
    html = render_bar(workspace, viewer)
    assert 'value="favourite"' in html
    assert 'value="download"' in html
    assert not any(f'value="{a}"' in html for a in ("approve", "reject", "collect", "delete"))
