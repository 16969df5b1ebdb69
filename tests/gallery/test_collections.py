"""Collections: the team's boards. Members organise them; viewers look; names are unique per
workspace whatever the case; deleting one keeps its images."""

from __future__ import annotations

import pytest
from django.urls import reverse

from gallery.models import Collection, Image
from tests.factories import WorkspaceFactory
from tests.gallery.pictures import picture


@pytest.fixture
def board(workspace, member) -> Collection:
    return Collection.objects.create(workspace=workspace, name="Spring campaign", created_by=member)


@pytest.fixture
def image(workspace, member) -> Image:
    return picture(workspace, author=member)


def collections_url(workspace) -> str:
    return reverse("gallery:collections", args=[workspace.slug])


def test_a_member_creates_a_collection_and_sees_it_listed(member_client, workspace, member):
    response = member_client.post(
        reverse("gallery:collection_create", args=[workspace.slug]), {"name": "  Logo   ideas "}
    )
    assert response.status_code == 302
    created = Collection.objects.get(workspace=workspace)
    assert created.name == "Logo ideas"
    assert created.created_by == member
    page = member_client.get(collections_url(workspace)).content.decode()
    assert "Logo ideas" in page
    assert f"?collection={created.pk}" in page  # opens the gallery filtered by it


def test_names_are_unique_per_workspace_ignoring_case(member_client, workspace, board):
    url = reverse("gallery:collection_create", args=[workspace.slug])
    response = member_client.post(url, {"name": "spring CAMPAIGN"})
    assert response.status_code == 422
    # It names the collection that has the name, as it is written.
    assert "already a collection called “Spring campaign”" in response.content.decode()
    assert Collection.objects.filter(workspace=workspace).count() == 1
    # Another workspace may use the same name.
    elsewhere = WorkspaceFactory()
    Collection.objects.create(workspace=elsewhere, name="Spring campaign")


def test_a_name_error_is_shown_next_to_the_field_in_the_htmx_panel(member_client, workspace, board):
    response = member_client.post(
        reverse("gallery:collection_create", args=[workspace.slug]),
        {"name": "SPRING campaign"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200  # htmx 2 swaps only 2xx answers
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="collections-panel"')
    assert 'id="id_name_error"' in html
    assert "already a collection called" in html


def test_a_blank_name_is_refused(member_client, workspace):
    response = member_client.post(
        reverse("gallery:collection_create", args=[workspace.slug]), {"name": "   "}
    )
    assert response.status_code == 422
    assert not Collection.objects.exists()


def test_a_member_renames_a_collection_but_not_to_a_taken_name(member_client, workspace, board):
    Collection.objects.create(workspace=workspace, name="Logo ideas")
    url = reverse("gallery:collection_rename", args=[workspace.slug, board.pk])
    field = f"rename-{board.pk}-name"
    refused = member_client.post(url, {field: "LOGO IDEAS"}, HTTP_HX_REQUEST="true")
    assert "already a collection called" in refused.content.decode()
    assert f'id="rename-{board.pk}-error"' in refused.content.decode()
    member_client.post(url, {field: "Summer campaign"})
    board.refresh_from_db()
    assert board.name == "Summer campaign"
    # Renaming to its own name in another case is fine: it is still the only one.
    member_client.post(url, {field: "SUMMER campaign"})
    board.refresh_from_db()
    assert board.name == "SUMMER campaign"


def test_deleting_a_collection_asks_first_and_keeps_its_images(
    member_client, workspace, board, image
):
    board.images.add(image)
    url = reverse("gallery:collection_delete", args=[workspace.slug, board.pk])
    confirm = member_client.get(url)
    assert "Its 1 image stays in the gallery" in confirm.content.decode()
    assert Collection.objects.filter(pk=board.pk).exists()
    member_client.post(url)
    assert not Collection.objects.filter(pk=board.pk).exists()
    image.refresh_from_db()
    assert image.deleted_at is None


def test_the_list_shows_count_covers_and_creator_in_three_queries(
    member_client, workspace, board, member, django_assert_max_num_queries
):
    for n in range(6):
        board.images.add(picture(workspace, author=member, prompt=f"image {n}"))
    deleted = picture(workspace, author=member)
    board.images.add(deleted)
    Image.objects.filter(pk=deleted.pk).update(deleted_at="2026-01-01T00:00Z")
    Collection.objects.create(workspace=workspace, name="Empty board")
    page = member_client.get(collections_url(workspace)).content.decode()
    assert "6 images · by" in page  # the deleted image is not counted
    assert page.count('src="/t/') == 4  # four cover thumbnails, signed
    assert "No images yet" in page
    from gallery import selectors

    with django_assert_max_num_queries(3):
        listed = selectors.collection_list(workspace=workspace)
        assert [len(c.cover_items) for c in listed] == [0, 4]


def test_viewers_see_collections_but_cannot_change_them(viewer_client, workspace, board):
    page = viewer_client.get(collections_url(workspace)).content.decode()
    assert "Spring campaign" in page
    assert "Create collection" not in page
    assert "Rename" not in page
    create = reverse("gallery:collection_create", args=[workspace.slug])
    assert viewer_client.post(create, {"name": "Mine"}).status_code == 403
    rename = reverse("gallery:collection_rename", args=[workspace.slug, board.pk])
    assert viewer_client.post(rename, {f"rename-{board.pk}-name": "x"}).status_code == 403
    assert Collection.objects.get().name == "Spring campaign"


def test_another_workspaces_collection_is_not_found(member_client, workspace):
    theirs = Collection.objects.create(workspace=WorkspaceFactory(), name="Theirs")
    url = reverse("gallery:collection_delete", args=[workspace.slug, theirs.pk])
    assert member_client.post(url).status_code == 404
    assert Collection.objects.filter(pk=theirs.pk).exists()


# --- One image's collections -------------------------------------------------------------------


def panel_url(workspace, image) -> str:
    return reverse("gallery:image_collections", args=[workspace.slug, image.pk])


def test_an_image_goes_into_several_collections_and_out_of_one(
    member_client, workspace, board, image
):
    logos = Collection.objects.create(workspace=workspace, name="Logo ideas")
    url = panel_url(workspace, image)
    member_client.post(url, {"action": "add", "collection": board.pk})
    member_client.post(url, {"action": "add", "collection": logos.pk})
    member_client.post(url, {"action": "add", "collection": logos.pk})  # twice: still once
    assert set(image.collections.all()) == {board, logos}
    assert logos.items.count() == 1
    response = member_client.post(url, {"action": "remove", "collection": board.pk})
    assert response["Location"].endswith("#collections")
    assert list(image.collections.all()) == [logos]


def test_an_image_goes_into_a_new_collection_from_its_panel(member_client, workspace, image):
    response = member_client.post(
        panel_url(workspace, image), {"action": "new", "name": "Moodboard"}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert 'id="collections"' in html
    assert "Moodboard" in html
    assert list(image.collections.values_list("name", flat=True)) == ["Moodboard"]


def test_the_panel_says_why_a_new_collection_was_refused(member_client, workspace, board, image):
    response = member_client.post(
        panel_url(workspace, image),
        {"action": "new", "name": "spring campaign"},
        HTTP_HX_REQUEST="true",
    )
    assert 'id="new-collection-error"' in response.content.decode()
    assert not image.collections.exists()


def test_the_panel_lists_where_the_image_is_and_offers_the_rest(
    member_client, workspace, board, image
):
    Collection.objects.create(workspace=workspace, name="Logo ideas")
    board.images.add(image)
    html = member_client.get(panel_url(workspace, image), HTTP_HX_REQUEST="true").content.decode()
    inside, _, offered = html.partition('id="add-to-collection"')
    assert "Spring campaign" in inside
    assert "Logo ideas" in offered
    assert "Spring campaign" not in offered


def test_a_collection_of_another_workspace_cannot_take_the_image(member_client, workspace, image):
    theirs = Collection.objects.create(workspace=WorkspaceFactory(), name="Theirs")
    response = member_client.post(
        panel_url(workspace, image), {"action": "add", "collection": theirs.pk}
    )
    assert response.status_code == 404
    assert not theirs.items.exists()
