from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts import services
from accounts.models import AuditEvent, Membership, Role, User
from tests.factories import MembershipFactory, UserFactory


def members_url(ws) -> str:
    return reverse("accounts:settings_members", args=[ws.slug])


def test_it_lists_members_with_their_roles(
    owner_client, workspace, member, viewer, django_assert_max_num_queries
):
    with django_assert_max_num_queries(12):
        response = owner_client.get(members_url(workspace))
    html = response.content.decode()
    assert response.status_code == 200
    assert member.email in html
    assert viewer.email in html


def test_it_does_not_query_per_member(owner_client, workspace):
    def queries_for_page() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert owner_client.get(members_url(workspace)).status_code == 200
        return len(ctx.captured_queries)

    MembershipFactory.create_batch(2, workspace=workspace)
    queries_for_page()  # the first page of a workspace also remembers it (one write, once)
    few = queries_for_page()
    MembershipFactory.create_batch(10, workspace=workspace)
    assert queries_for_page() == few


def test_it_refuses_settings_to_a_plain_member(member_client, workspace):
    assert member_client.get(members_url(workspace)).status_code == 403


def test_it_adds_an_existing_user_by_email(owner_client, owner, workspace):
    carol = UserFactory(email="carol@example.com")
    response = owner_client.post(
        reverse("accounts:member_add", args=[workspace.slug]),
        {"email": "Carol@Example.com", "role": "viewer"},
    )
    assert response.status_code == 302
    assert Membership.objects.get(workspace=workspace, user=carol).role == Role.VIEWER
    event = AuditEvent.objects.get(verb="member.added")
    assert (event.actor, event.target, event.detail) == (owner, "carol@example.com", "as Viewer")


def test_it_creates_an_account_with_a_one_time_set_password_link(owner_client, workspace):
    response = owner_client.post(
        reverse("accounts:member_add", args=[workspace.slug]),
        {"email": "dan@example.com", "name": "Dan Dorsey", "role": "member"},
        follow=True,
    )
    dan = User.objects.get(email="dan@example.com")
    assert (dan.first_name, dan.last_name, dan.has_usable_password()) == ("Dan", "Dorsey", False)
    [message] = [m.message for m in response.context["messages"]]
    link = message.split("choose one: ")[1]
    path = link.removeprefix("http://testserver")

    newcomer = Client()
    form_page = newcomer.get(path, follow=True)
    assert "Choose your password" in form_page.content.decode()
    set_url = form_page.redirect_chain[-1][0]
    done = newcomer.post(
        set_url, {"new_password1": "dan's own pass 2026", "new_password2": "dan's own pass 2026"}
    )
    assert done.status_code == 302
    dan.refresh_from_db()
    assert dan.check_password("dan's own pass 2026")

    # The link worked once; it is dead now.
    again = Client().get(path, follow=True)
    assert "This link has expired" in again.content.decode()


def test_it_explains_that_someone_is_already_a_member(owner_client, workspace, member):
    response = owner_client.post(
        reverse("accounts:member_add", args=[workspace.slug]),
        {"email": member.email, "role": "member"},
    )
    assert response.status_code == 422
    assert f"{member.email} is already a member of Studio." in response.content.decode()


def test_it_keeps_the_typed_values_when_the_form_has_errors(owner_client, workspace):
    response = owner_client.post(
        reverse("accounts:member_add", args=[workspace.slug]),
        {"email": "not-an-email", "name": "Zed", "role": "viewer"},
    )
    html = response.content.decode()
    assert "Enter a valid email address." in html
    assert 'value="Zed"' in html


def test_it_answers_htmx_with_just_the_members_panel_and_a_toast(owner_client, workspace):
    UserFactory(email="erin@example.com")
    response = owner_client.post(
        reverse("accounts:member_add", args=[workspace.slug]),
        {"email": "erin@example.com", "role": "member"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="members-panel"')
    assert "<html" not in html
    assert 'hx-swap-oob="beforeend"' in html
    assert "erin@example.com</a> to Studio." in html


def test_it_changes_a_role(owner_client, workspace, member, owner):
    membership = member.memberships.get()
    owner_client.post(
        reverse("accounts:member_role", args=[workspace.slug, membership.pk]), {"role": "admin"}
    )
    membership.refresh_from_db()
    assert membership.role == Role.ADMIN
    event = AuditEvent.objects.get(verb="member.role_changed")
    assert (event.actor, event.detail) == (owner, "Member → Admin")


def test_it_never_demotes_or_removes_the_last_admin(owner_client, workspace, owner):
    mine = owner.memberships.get()
    response = owner_client.post(
        reverse("accounts:member_role", args=[workspace.slug, mine.pk]),
        {"role": "member"},
        follow=True,
    )
    assert "at least one admin" in response.content.decode()
    response = owner_client.post(
        reverse("accounts:member_remove", args=[workspace.slug, mine.pk]), follow=True
    )
    assert "The last admin cannot be removed" in response.content.decode()
    mine.refresh_from_db()
    assert mine.role == Role.ADMIN


def test_remove_is_offered_exactly_when_it_would_work(owner_client, workspace, owner, member):
    def remove_offered_for(user) -> bool:
        page = owner_client.get(reverse("accounts:settings_members", args=[workspace.slug]))
        return f'aria-label="Remove {user.email}"' in page.content.decode()

    assert not remove_offered_for(owner)  # the only admin: the service would refuse
    assert remove_offered_for(member)
    member.memberships.update(role=Role.ADMIN)
    assert remove_offered_for(owner)  # another admin remains: now it works
    assert remove_offered_for(member)


def test_it_lets_an_admin_leave_when_another_admin_remains(owner_client, workspace, owner, member):
    member.memberships.update(role=Role.ADMIN)
    mine = owner.memberships.get()
    response = owner_client.post(reverse("accounts:member_remove", args=[workspace.slug, mine.pk]))
    assert response["Location"] == reverse("home")
    assert not Membership.objects.filter(pk=mine.pk).exists()


def test_it_removes_a_member_and_records_it(owner_client, workspace, member):
    membership = member.memberships.get()
    owner_client.post(reverse("accounts:member_remove", args=[workspace.slug, membership.pk]))
    assert not Membership.objects.filter(pk=membership.pk).exists()
    assert AuditEvent.objects.filter(verb="member.removed", target=member.email).exists()


def test_it_cannot_touch_a_membership_of_another_workspace(owner_client, workspace, outsider):
    foreign = outsider.memberships.get()
    url = reverse("accounts:member_role", args=[workspace.slug, foreign.pk])
    assert owner_client.post(url, {"role": "viewer"}).status_code == 404
    foreign.refresh_from_db()
    assert foreign.role == Role.ADMIN


@pytest.mark.parametrize("role", ["member", "viewer"])
def test_it_hides_the_settings_link_from_non_admins(client_for, workspace, role):
    user = MembershipFactory(workspace=workspace, role=role).user
    html = client_for(user).get(reverse("gallery:home", args=[workspace.slug])).content.decode()
    assert reverse("accounts:settings_members", args=[workspace.slug]) not in html


@pytest.fixture
def stale_last_admin(workspace, owner, member) -> Membership:
    """Bob's membership as a request read it, before Bob became the only admin."""
    stale = member.memberships.get()
    Membership.objects.filter(pk=stale.pk).update(role=Role.ADMIN)
    owner.memberships.update(role=Role.MEMBER)
    return stale


def test_it_checks_the_last_admin_against_the_current_role_not_a_stale_one(stale_last_admin, owner):
    with pytest.raises(ValidationError, match="at least one admin"):
        services.membership_change_role(membership=stale_last_admin, actor=owner, role="viewer")
    with pytest.raises(ValidationError, match="The last admin cannot be removed"):
        services.membership_remove(membership=stale_last_admin, actor=owner)
    stale_last_admin.refresh_from_db()
    assert stale_last_admin.role == Role.ADMIN


def test_it_shows_memberships_read_only_in_the_django_admin(
    client_for, make_user, workspace, owner
):
    mine = owner.memberships.get()
    client = client_for(make_user(is_staff=True, is_superuser=True))
    url = reverse("admin:accounts_workspace_change", args=[workspace.pk])
    response = client.post(
        url,
        {
            "name": workspace.name,
            "slug": workspace.slug,
            "memberships-TOTAL_FORMS": "1",
            "memberships-INITIAL_FORMS": "1",
            "memberships-MIN_NUM_FORMS": "0",
            "memberships-MAX_NUM_FORMS": "1000",
            "memberships-0-id": str(mine.pk),
            "memberships-0-workspace": str(workspace.pk),
            "memberships-0-user": str(owner.pk),
            "memberships-0-role": "viewer",
            "memberships-0-DELETE": "on",
        },
    )
    assert response.status_code == 302
    mine.refresh_from_db()
    assert mine.role == Role.ADMIN


def test_re_adding_someone_who_never_set_a_password_gives_a_fresh_link(owner_client, workspace):
    url = reverse("accounts:member_add", args=[workspace.slug])
    owner_client.post(url, {"email": "lost@example.com", "role": "member"})
    membership = Membership.objects.get(user__email="lost@example.com")
    owner_client.post(reverse("accounts:member_remove", args=[workspace.slug, membership.pk]))
    response = owner_client.post(url, {"email": "lost@example.com", "role": "member"}, follow=True)
    message = [m.message for m in response.context["messages"]][-1]
    assert (
        "Send them this one-time link to choose one: http://testserver/account/set-password/"
        in message
    )


def test_re_adding_someone_with_a_password_gives_no_link(owner_client, workspace, outsider):
    response = owner_client.post(
        reverse("accounts:member_add", args=[workspace.slug]),
        {"email": outsider.email, "role": "member"},
        follow=True,
    )
    [message] = [m.message for m in response.context["messages"]]
    assert "link" not in message


def test_over_htmx_the_link_appears_in_the_panel_with_a_copy_button(owner_client, workspace):
    response = owner_client.post(
        reverse("accounts:member_add", args=[workspace.slug]),
        {"email": "new@example.com", "role": "member"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert (
        'id="new-link" type="text" readonly value="http://testserver/account/set-password/' in html
    )
    assert 'data-copy="new-link"' in html
    assert "toast-sticky" not in html  # not twice


def _address(length: int) -> str:
    """A well-formed address of exactly `length` characters (domain labels stay under 64)."""
    domain = ".".join(["d" * 60] * 3) + ".com"  # 187 characters
    local = "a" * (length - len(domain) - 1)
    return f"{local}@{domain}"


def test_it_refuses_an_email_longer_than_an_account_can_hold(owner_client, workspace):
    too_long = _address(255)
    response = owner_client.post(
        reverse("accounts:member_add", args=[workspace.slug]),
        {"email": too_long, "role": "member"},
    )

    assert response.status_code == 422
    html = response.content.decode()
    assert (
        '<div id="id_email_error"><p class="error">An email address has at most 254 characters '
        "(this has 255).</p></div>"
    ) in html
    assert not User.objects.filter(email=too_long).exists()


def test_it_adds_and_audits_an_email_of_the_longest_length(owner_client, workspace):
    longest = _address(254)
    response = owner_client.post(
        reverse("accounts:member_add", args=[workspace.slug]),
        {"email": longest, "role": "member"},
    )

    assert response.status_code == 302
    assert User.objects.filter(email=longest).exists()
    # Every column that records an address holds the longest one (PostgreSQL enforces it).
    assert AuditEvent._meta.get_field("target").max_length >= len(longest)
    assert AuditEvent.objects.filter(verb="member.created", target=longest).exists()


def test_an_admin_gets_a_new_link_for_a_member_who_never_set_a_password(
    owner_client, owner, workspace
):
    add = reverse("accounts:member_add", args=[workspace.slug])
    owner_client.post(add, {"email": "lost@example.com", "role": "member"}, HTTP_HX_REQUEST="true")
    # The panel redraws (a role change elsewhere) and the first link is gone from the page...
    panel = owner_client.get(members_url(workspace)).content.decode()
    assert 'id="new-link"' not in panel
    # ...and adding them again only says they are a member already.
    again = owner_client.post(add, {"email": "lost@example.com", "role": "member"})
    assert "lost@example.com is already a member of Studio." in again.content.decode()
    lost = Membership.objects.get(user__email="lost@example.com")
    link_url = reverse("accounts:member_link", args=[workspace.slug, lost.pk])
    assert f'action="{link_url}"' in panel  # the New link button

    response = owner_client.post(link_url, HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert "A new link for lost@example.com." in html
    link = re.search(r'id="new-link" type="text" readonly value="([^"]+)"', html).group(1)
    assert link.startswith("http://testserver/account/set-password/")
    event = AuditEvent.objects.filter(verb="member.link_issued").get()
    assert (event.actor, event.target) == (owner, "lost@example.com")
    # The link works: they choose a password.
    anonymous = Client()
    form_page = anonymous.get(link.removeprefix("http://testserver"), follow=True)
    chosen = anonymous.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": "a fine long password 9", "new_password2": "a fine long password 9"},
    )
    assert chosen.status_code == 302
    assert User.objects.get(email="lost@example.com").has_usable_password()


def test_there_is_no_new_link_for_a_member_with_a_password(owner_client, workspace, member):
    mine = Membership.objects.get(user=member)
    link_url = reverse("accounts:member_link", args=[workspace.slug, mine.pk])
    assert f'action="{link_url}"' not in owner_client.get(members_url(workspace)).content.decode()

    response = owner_client.post(link_url, follow=True)

    [message] = [m.message for m in response.context["messages"]]
    assert message == f"{member.email} has already chosen a password: there is no link to give."
    assert not AuditEvent.objects.filter(verb="member.link_issued").exists()
