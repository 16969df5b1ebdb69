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
