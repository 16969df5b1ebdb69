"""Staff · Users: every account with its workspaces and last login; deactivate, reactivate."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import AuditEvent, AuditVerb, Role, User
from tests.factories import DEFAULT_PASSWORD, MembershipFactory, UserFactory


@pytest.fixture
def staff(db) -> User:
    return UserFactory(email="sam@example.com", is_staff=True)


@pytest.fixture
def staff_client(client_for, staff) -> Client:
    return client_for(staff)


def signed_in(user: User) -> Client | None:
    """A browser that signed in through the login page as `user`, or None if refused."""
    client = Client()
    response = client.post(reverse("login"), {"username": user.email, "password": DEFAULT_PASSWORD})
    return client if response.status_code == 302 else None


def set_active(client, user, active: bool, **extra):
    url = reverse("staff_user_active", args=[user.pk])
    return client.post(url, {"active": "1" if active else "0", **extra})


def test_it_lists_accounts_with_their_workspaces_roles_and_last_login(
    staff_client, owner, member, outsider
):
    User.objects.filter(pk=member.pk).update(
        last_login=timezone.make_aware(dt.datetime(2026, 3, 4, 5, 6))
    )
    page = staff_client.get(reverse("staff_users")).content.decode()
    row = page.split(f'id="user-{member.pk}"')[1].split("</tr>")[0]
    assert "bob@example.com" in row
    assert 'Studio <span class="badge">Member</span>' in row
    assert "2026-03-04" in row
    outsider_row = page.split(f'id="user-{outsider.pk}"')[1].split("</tr>")[0]
    assert 'Elsewhere <span class="badge">Admin</span>' in outsider_row
    assert "never" in outsider_row


def test_it_reads_a_page_in_the_same_queries_however_many_accounts(staff_client, workspace):
    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert staff_client.get(reverse("staff_users")).status_code == 200
        return len(captured)

    MembershipFactory.create_batch(3, workspace=workspace)
    few = count()
    MembershipFactory.create_batch(30, workspace=workspace, role=Role.VIEWER)
    assert count() == few


def test_it_pages_by_email_without_counting(staff_client, db):
    UserFactory.create_batch(60)
    first = staff_client.get(reverse("staff_users"))
    next_after = first.context["page"].next_after
    assert len(first.context["page"].users) == 50
    second = staff_client.get(reverse("staff_users"), {"after": next_after})
    emails = [u.email for u in first.context["page"].users + second.context["page"].users]
    assert emails == sorted(User.objects.values_list("email", flat=True))
    assert second.context["page"].next_after is None


def test_it_finds_accounts_by_email(staff_client, member, owner):
    page = staff_client.get(reverse("staff_users"), {"q": "BOB@"})
    assert [u.email for u in page.context["page"].users] == ["bob@example.com"]


def test_deactivating_ends_their_sessions_and_stops_them_signing_in(
    staff_client, staff, member, workspace
):
    theirs = signed_in(member)
    assert theirs is not None
    home = reverse("gallery:home", args=[workspace.slug])
    assert theirs.get(home).status_code == 200
    session_key = theirs.cookies["sessionid"].value
    assert Session.objects.filter(session_key=session_key).exists()

    response = set_active(staff_client, member, False)

    assert response["Location"] == reverse("staff_users")
    member.refresh_from_db()
    assert not member.is_active
    assert not Session.objects.filter(session_key=session_key).exists()
    assert theirs.get(home)["Location"].startswith(reverse("login"))
    assert signed_in(member) is None
    event = AuditEvent.objects.get(verb=AuditVerb.USER_DEACTIVATED)
    assert (event.workspace, event.actor, event.target) == (None, staff, member.email)
    assert member.memberships.exists()  # their work and places stay for a reactivation


def test_a_deactivated_account_can_be_reactivated(staff_client, member):
    set_active(staff_client, member, False)
    set_active(staff_client, member, True)
    member.refresh_from_db()
    assert member.is_active
    assert signed_in(member) is not None
    assert AuditEvent.objects.filter(verb=AuditVerb.USER_REACTIVATED, target=member.email).exists()


def test_staff_cannot_deactivate_themselves(staff_client, staff):
    response = set_active(staff_client, staff, False)
    staff.refresh_from_db()
    assert staff.is_active
    assert (
        "You cannot deactivate your own account."
        in staff_client.get(response["Location"]).content.decode()
    )
    assert not AuditEvent.objects.exists()


def test_it_returns_to_the_page_it_was_on(staff_client, member):
    response = set_active(staff_client, member, False, after="alice@example.com", q="b")
    assert response["Location"] == reverse("staff_users") + "?after=alice%40example.com&q=b"


def test_the_account_menu_links_it_for_staff_only(staff_client, owner_client, workspace):
    assert reverse("staff_users") in staff_client.get(reverse("ops")).content.decode()
    page = owner_client.get(reverse("gallery:home", args=[workspace.slug])).content.decode()
    assert reverse("staff_users") not in page
