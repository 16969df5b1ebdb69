"""Renaming a workspace and moving it to a new address; old addresses keep leading members in."""

from __future__ import annotations

from django.urls import reverse

from accounts.models import AuditEvent, AuditVerb, Workspace, WorkspaceSlug
from gallery.models import Image
from tests.factories import WorkspaceFactory


def general(slug: str) -> str:
    return reverse("accounts:settings_general", args=[slug])


def move(client, workspace, slug, name=None):
    return client.post(general(workspace.slug), {"name": name or workspace.name, "slug": slug})


def test_it_moves_the_workspace_and_records_both_changes(owner_client, owner, workspace):
    response = owner_client.post(general("studio"), {"name": "Studio North", "slug": "north"})
    assert response["Location"] == general("north")
    workspace.refresh_from_db()
    assert (workspace.name, workspace.slug) == ("Studio North", "north")
    assert list(workspace.old_slugs.values_list("slug", flat=True)) == ["studio"]
    events = AuditEvent.objects.filter(workspace=workspace, actor=owner)
    assert {(e.verb, e.target, e.detail) for e in events} == {
        (AuditVerb.WORKSPACE_RENAMED, "Studio North", "was Studio"),
        (AuditVerb.WORKSPACE_MOVED, "/w/north/", "was /w/studio/ (which still leads here)"),
    }
    page = owner_client.get(general("north")).content.decode()
    assert "<code>/w/studio/</code>" in page


def test_every_old_address_redirects_a_member_to_the_same_page(
    member_client, owner_client, workspace
):
    image = Image.objects.create(workspace=workspace, prompt="p")
    move(owner_client, workspace, "north")
    old = reverse("gallery:image_detail", args=["studio", image.pk]) + "?from=link&x=1"
    response = member_client.get(old)
    assert response.status_code == 302
    assert response["Location"] == (
        reverse("gallery:image_detail", args=["north", image.pk]) + "?from=link&x=1"
    )
    assert member_client.get(response["Location"]).status_code == 200


def test_a_form_posted_to_the_old_address_is_sent_on_with_its_method(
    member_client, owner_client, workspace
):
    image = Image.objects.create(workspace=workspace, prompt="p")
    move(owner_client, workspace, "north")
    response = member_client.post(
        reverse("gallery:comment_add", args=["studio", image.pk]), {"body": "Nice"}
    )
    assert response.status_code == 307
    assert response["Location"] == reverse("gallery:comment_add", args=["north", image.pk])


def test_an_outsider_at_the_old_address_learns_nothing(outsider_client, owner_client, workspace):
    move(owner_client, workspace, "north")
    moved = outsider_client.get(reverse("gallery:home", args=["studio"]))
    never = outsider_client.get(reverse("gallery:home", args=["never-was"]))
    assert moved.status_code == never.status_code == 404


def test_a_second_move_keeps_every_old_address_and_moving_back_takes_one_off(
    member_client, owner_client, workspace
):
    move(owner_client, workspace, "north")
    move(owner_client, Workspace.objects.get(pk=workspace.pk), "south")
    for old in ("studio", "north"):
        response = member_client.get(reverse("gallery:home", args=[old]))
        assert response["Location"] == reverse("gallery:home", args=["south"])
    move(owner_client, Workspace.objects.get(pk=workspace.pk), "studio")
    assert set(WorkspaceSlug.objects.values_list("slug", flat=True)) == {"north", "south"}
    assert member_client.get(reverse("gallery:home", args=["studio"])).status_code == 200


def test_an_address_in_use_or_once_used_by_another_workspace_is_refused_next_to_the_field(
    owner_client, workspace
):
    other = WorkspaceFactory(name="Archive", slug="archive")
    WorkspaceSlug.objects.create(workspace=other, slug="old-archive")
    for taken in ("archive", "old-archive"):
        response = owner_client.post(general("studio"), {"name": "Studio Two", "slug": taken})
        assert response.status_code == 422
        page = response.content.decode()
        assert f"The address /w/{taken}/ is taken. Choose another." in page
        assert 'id="id_slug_error"' in page
        assert 'value="Studio Two"' in page  # what was typed is kept
    workspace.refresh_from_db()
    assert (workspace.name, workspace.slug) == ("Studio", "studio")


def test_an_address_that_is_not_a_slug_is_refused(owner_client, workspace):
    response = owner_client.post(general("studio"), {"name": "Studio", "slug": "a b/c"})
    assert response.status_code == 422
    assert "Use only lower-case letters, digits and hyphens" in response.content.decode()


def test_a_new_workspace_never_takes_an_old_address(client_for, make_user, owner_client, workspace):
    move(owner_client, workspace, "north", name="Studio North")
    staff = make_user(is_staff=True)
    client_for(staff).post(reverse("workspace_create"), {"name": "Studio"})
    assert Workspace.objects.get(name="Studio").slug == "studio-2"
