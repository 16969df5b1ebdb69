"""Settings · Budgets: admins give each member a monthly budget (or an explicit "unlimited"),
set the workspace cap and the default for members, and see what each member used this month."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import AuditEvent, Membership
from gallery.models import LedgerEntry, MemberBudget, WorkspaceBudget
from tests.factories import MembershipFactory


def page(workspace) -> str:
    return reverse("gallery:settings_budgets", args=[workspace.slug])


def member_url(workspace, user) -> str:
    membership = Membership.objects.get(workspace=workspace, user=user)
    return reverse("gallery:member_budget", args=[workspace.slug, membership.pk])


def prefix(workspace, user) -> str:
    return f"m{Membership.objects.get(workspace=workspace, user=user).pk}"


def test_it_shows_each_members_budget_and_what_they_used_this_month(
    owner_client, workspace, member, owner
):
    MemberBudget.objects.create(workspace=workspace, user=member, limit=50, unlimited=False)
    LedgerEntry.objects.create(
        workspace=workspace, member=member, kind="reserve", amount=4, unit="images"
    )
    html = owner_client.get(page(workspace)).content.decode()
    assert "Used 4 of 50 images this month" in html
    assert "Used 0 images this month · unlimited" in html  # the owner: the default, unlimited


def test_the_page_reads_the_same_number_of_queries_however_many_members(
    owner_client, workspace, member, django_assert_max_num_queries
):
    owner_client.get(page(workspace))  # warm the session and the site's caches
    with django_assert_max_num_queries(12) as few:
        owner_client.get(page(workspace))
    for i in range(15):
        user = MembershipFactory(workspace=workspace, user__email=f"m{i}@example.com").user
        LedgerEntry.objects.create(
            workspace=workspace, member=user, kind="reserve", amount=1, unit="images"
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = owner_client.get(page(workspace))
    assert response.content.decode().count("Used 1 images this month") == 0
    assert response.content.decode().count("Used 1 image this month") == 15


def test_an_admin_sets_a_members_budget_and_it_is_audited(owner_client, workspace, member):
    p = prefix(workspace, member)
    response = owner_client.post(member_url(workspace, member), {f"{p}-limit": "50"})
    assert response.status_code == 302
    budget = MemberBudget.objects.get(user=member)
    assert (budget.limit, budget.unlimited) == (Decimal(50), False)
    event = AuditEvent.objects.get(verb="budget.changed")
    assert (event.target, event.detail) == (member.email, "unlimited → 50 images a month")


def test_unlimited_is_a_choice_that_clears_the_number(owner_client, workspace, member):
    MemberBudget.objects.create(workspace=workspace, user=member, limit=5, unlimited=False)
    p = prefix(workspace, member)
    owner_client.post(member_url(workspace, member), {f"{p}-limit": "5", f"{p}-unlimited": "on"})
    budget = MemberBudget.objects.get(user=member)
    assert (budget.limit, budget.unlimited) == (None, True)


@pytest.mark.parametrize(
    ("value", "error"),
    [("", "Enter a monthly amount, or tick Unlimited."), ("2.5", "Images are counted whole")],
)
def test_a_bad_budget_is_refused_next_to_its_field(owner_client, workspace, member, value, error):
    p = prefix(workspace, member)
    response = owner_client.post(member_url(workspace, member), {f"{p}-limit": value})
    assert response.status_code == 422
    html = response.content.decode()
    assert error in html
    assert f'id="id_{p}-limit_error"' in html  # under that member's own field
    assert not MemberBudget.objects.exists()


def test_an_admin_sets_the_workspace_cap_and_default(owner_client, workspace):
    response = owner_client.post(page(workspace), {"cap": "200", "member_default": "20"})
    assert response.status_code == 302
    budget = WorkspaceBudget.objects.get(workspace=workspace)
    assert (budget.cap_limit, budget.member_default) == (Decimal(200), Decimal(20))
    assert AuditEvent.objects.get(verb="budget.workspace_changed").detail == (
        "cap unlimited → 200 images; default unlimited → 20 images"
    )


def test_a_member_cannot_open_or_change_budgets(member_client, workspace, member):
    assert member_client.get(page(workspace)).status_code == 403
    p = prefix(workspace, member)
    response = member_client.post(member_url(workspace, member), {f"{p}-unlimited": "on"})
    assert response.status_code == 403
    assert not MemberBudget.objects.exists()


# --- What people read: grants, viewers, refusals ----------------------------------------------


def test_a_grant_raises_the_months_room_instead_of_reading_as_negative_use(
    owner_client, workspace, member
):
    MemberBudget.objects.create(workspace=workspace, user=member, limit=3, unlimited=False)
    LedgerEntry.objects.create(
        workspace=workspace, member=member, kind="grant", amount=-2, unit="images", note="r 1"
    )
    html = owner_client.get(page(workspace)).content.decode()
    assert "Used 0 of 5 images this month (3 + 2 granted)" in html
    assert "Used -2" not in html
    assert "Granted 2 images more: r 1" in html
    LedgerEntry.objects.create(
        workspace=workspace, member=member, kind="reserve", amount=4, unit="images"
    )
    html = owner_client.get(page(workspace)).content.decode()
    assert "Used 4 of 5 images this month (3 + 2 granted)" in html


def test_viewers_have_no_budget_row(owner_client, workspace, member, viewer):
    html = owner_client.get(page(workspace)).content.decode()
    assert viewer.email not in html
    assert html.count('class="member-row budget-row"') == 2  # the owner and the member
    assert "Viewers do not generate, so they have no budget." in html


@pytest.mark.parametrize("saved", [None, 3])
def test_a_number_typed_while_unlimited_is_ticked_is_refused_not_thrown_away(
    owner_client, workspace, member, saved
):
    if saved is not None:  # a budget of 3, then Unlimited ticked and 5 typed
        MemberBudget.objects.create(workspace=workspace, user=member, limit=3, unlimited=False)
    p = prefix(workspace, member)
    response = owner_client.post(
        member_url(workspace, member), {f"{p}-limit": "5", f"{p}-unlimited": "on"}
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert "Untick Unlimited to set 5 images a month, or clear the amount." in html
    assert f'id="id_{p}-limit_error"' in html
    budget = MemberBudget.objects.filter(user=member).first()
    assert (budget.limit if budget else None) == saved
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (
            {"cap": "5", "cap_unlimited": "on", "member_default_unlimited": "on"},
            "Untick No cap to set 5 images a month, or clear the amount.",
        ),
        (
            {"cap_unlimited": "on", "member_default": "5", "member_default_unlimited": "on"},
            "Untick Unlimited by default to set 5 images a month, or clear the amount.",
        ),
    ],
)
def test_a_cap_or_default_typed_while_unlimited_is_ticked_is_refused(
    owner_client, workspace, data, error
):
    response = owner_client.post(page(workspace), data)
    assert response.status_code == 422
    assert error in response.content.decode()
    assert not WorkspaceBudget.objects.filter(cap__isnull=False).exists()
    assert not AuditEvent.objects.exists()


def test_ticking_no_cap_beside_the_saved_cap_lifts_it(owner_client, workspace):
    WorkspaceBudget.objects.create(workspace=workspace, cap=Decimal(200), cap_unlimited=False)
    data = {"cap": "200", "cap_unlimited": "on", "member_default_unlimited": "on"}
    assert owner_client.post(page(workspace), data).status_code == 302
    assert WorkspaceBudget.objects.get(workspace=workspace).cap_limit is None


def test_a_negative_budget_gets_one_clear_error(owner_client, workspace, member):
    p = prefix(workspace, member)
    response = owner_client.post(member_url(workspace, member), {f"{p}-limit": "-1"})
    assert response.status_code == 422
    html = response.content.decode()
    errors = html.split(f'id="id_{p}-limit_error"')[1].split("</div>")[0]
    assert errors.count('class="error"') == 1
    assert "A budget cannot be below 0: enter 0 or more." in errors


def test_the_audit_log_records_only_what_changed(owner_client, workspace):
    owner_client.post(page(workspace), {"cap": "10", "member_default_unlimited": "on"})
    assert AuditEvent.objects.get(verb="budget.workspace_changed").detail == (
        "cap unlimited → 10 images"
    )
