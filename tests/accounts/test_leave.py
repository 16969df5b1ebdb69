"""Leaving a workspace: any member may, from the switcher or settings; the last admin may not."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounts.models import AuditEvent, AuditVerb, Membership, Role
from tests.factories import MembershipFactory


def leave_url(workspace) -> str:
    return reverse("workspace_leave", args=[workspace.slug])


@pytest.mark.parametrize("who", ["member", "viewer"])
def test_a_member_leaves_and_it_is_recorded(who, workspace, owner, client_for, request):
    person = request.getfixturevalue(who)
    person.last_workspace = workspace
    person.save()
    client = client_for(person)
    page = client.get(leave_url(workspace)).content.decode()
    assert "Leave Studio?" in page

    response = client.post(leave_url(workspace), {"confirm": "leave"})

    assert response["Location"] == reverse("home")
    assert not Membership.objects.filter(workspace=workspace, user=person).exists()
    person.refresh_from_db()
    assert person.last_workspace is None
    event = AuditEvent.objects.get(verb=AuditVerb.MEMBER_LEFT)
    assert (event.workspace, event.actor, event.target) == (workspace, person, person.email)
    assert client.get(reverse("gallery:home", args=[workspace.slug])).status_code == 404


def test_the_last_admin_cannot_leave_and_is_told_what_to_do(owner_client, owner, workspace, member):
    response = owner_client.post(leave_url(workspace), {"confirm": "leave"})
    assert response.status_code == 409
    assert "You are the last admin of Studio: make someone else admin first" in (
        response.content.decode()
    )
    assert Membership.objects.filter(workspace=workspace, user=owner, role=Role.ADMIN).exists()
    assert not AuditEvent.objects.filter(verb=AuditVerb.MEMBER_LEFT).exists()


def test_an_admin_leaves_when_another_admin_remains(owner_client, owner, workspace):
    MembershipFactory(workspace=workspace, role=Role.ADMIN)
    assert owner_client.post(leave_url(workspace), {"confirm": "leave"}).status_code == 302
    assert not Membership.objects.filter(workspace=workspace, user=owner).exists()


def test_a_post_without_the_confirmation_changes_nothing(member_client, member, workspace):
    assert member_client.post(leave_url(workspace), {}).status_code == 400
    assert Membership.objects.filter(workspace=workspace, user=member).exists()


def test_the_switcher_and_the_settings_offer_it(owner_client, member_client, workspace):
    home = member_client.get(reverse("gallery:home", args=[workspace.slug])).content.decode()
    assert f'href="{leave_url(workspace)}"' in home
    settings = owner_client.get(reverse("accounts:settings_general", args=[workspace.slug]))
    assert f'href="{leave_url(workspace)}"' in settings.content.decode()
