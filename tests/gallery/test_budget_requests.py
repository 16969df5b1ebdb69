"""Asking for more: a member over budget asks, an admin approves (this month's budget is raised
by a grant in the ledger) or declines, in one click; both are audited and told to the member.
And an admin's adjustments of a member's month, with a reason."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import AuditEvent, Membership, Notification
from gallery.models import BudgetRequest, Job, LedgerEntry, WorkspaceBudget
from gallery.services.budget_requests import RequestRefused, budget_request_create
from gallery.services.jobs import SubmitRefused
from tests.factories import MembershipFactory
from tests.gallery.test_budgets import give, spend, used


def ask_url(workspace) -> str:
    return reverse("gallery:budget_ask", args=[workspace.slug])


def decide_url(request: BudgetRequest) -> str:
    return reverse("gallery:budget_request_decide", args=[request.workspace.slug, request.pk])


def budgets_url(workspace) -> str:
    return reverse("gallery:settings_budgets", args=[workspace.slug])


def adjust_url(workspace, user) -> str:
    membership = Membership.objects.get(workspace=workspace, user=user)
    return reverse("gallery:member_adjust", args=[workspace.slug, membership.pk])


def adjust_prefix(workspace, user) -> str:
    return f"a{Membership.objects.get(workspace=workspace, user=user).pk}"


GENERATE_FORM = {
    "prompt": "a lighthouse at dusk",
    "model": "nano-banana-2",
    "n": "4",
    "aspect_ratio": "1:1",
    "output_format": "png",
    "idempotency_key": "k-1",
}


# --- Asking ------------------------------------------------------------------------------------


def test_the_refusal_offers_to_ask_for_what_was_lacking(member_client, studio, member):
    give(studio, member, 3)
    spend(studio, member, 1)
    html = member_client.post(reverse("gallery:generate", args=[studio.slug]), GENERATE_FORM)
    html = html.content.decode()
    assert "This costs 4 images; you have 2 of your 3 left this month." in html
    assert f'href="{ask_url(studio)}?amount=2"' in html  # 4 wanted, 2 left: 2 more
    assert ">Ask for more</a>" in html


def test_a_refusal_by_the_workspace_cap_does_not_offer_to_ask(member_client, studio, member):
    WorkspaceBudget.objects.create(workspace=studio, cap=Decimal(2), cap_unlimited=False)
    html = member_client.post(reverse("gallery:generate", args=[studio.slug]), GENERATE_FORM)
    html = html.content.decode()
    assert "the workspace has 2 of its 2 cap left this month" in html
    assert "Ask for more" not in html  # a member's grant would not lift the cap


def test_the_ask_page_is_prefilled_and_shows_the_members_month(member_client, studio, member):
    give(studio, member, 3)
    spend(studio, member, 1)
    html = member_client.get(ask_url(studio), {"amount": "2"}).content.decode()
    assert "Used 1 of 3 images this month." in html
    assert 'name="amount" value="2"' in html


def test_a_member_asks_and_the_admins_are_told(
    member_client, studio, member, owner, django_capture_on_commit_callbacks, sent_tasks
):
    give(studio, member, 3)
    with django_capture_on_commit_callbacks(execute=True):
        response = member_client.post(
            ask_url(studio), {"amount": "2", "note": "The client wants two more crops"}
        )
    assert response.status_code == 302
    request = BudgetRequest.objects.get()
    assert (request.member, request.amount, request.unit, request.state) == (
        member,
        2,
        "images",
        "pending",
    )
    told = Notification.objects.get(recipient=owner)
    assert told.kind == "request_new"
    assert told.text == (
        "bob@example.com asks for 2 images more this month: “The client wants two more crops”"
    )
    assert [t.name for t in sent_tasks] == ["accounts.tasks.send_notification_email"]


def test_a_second_pending_request_is_refused_clearly(member_client, studio, member):
    give(studio, member, 3)
    member_client.post(ask_url(studio), {"amount": "2"})
    response = member_client.post(ask_url(studio), {"amount": "5"})
    assert response.status_code == 422
    assert (
        "You already have a request for 2 images waiting for an admin. "
        "You can ask again once it is decided."
    ) in response.content.decode()
    assert BudgetRequest.objects.count() == 1


def test_the_database_allows_one_pending_request_per_member(studio, member):
    budget_request_create(workspace=studio, user=member, amount=Decimal(2), unit="images", note="")
    with pytest.raises(RequestRefused):
        budget_request_create(
            workspace=studio, user=member, amount=Decimal(1), unit="images", note=""
        )


@pytest.mark.parametrize(
    ("amount", "error"),
    [
        ("", "Enter how much more you need."),
        ("0", "Ask for at least 1 image."),
        ("-3", "Ask for at least 1 image."),
        ("1.5", "Images are counted whole: enter a whole number."),
    ],
)
def test_an_amount_that_is_not_a_whole_positive_number_of_images_is_refused(
    member_client, studio, member, amount, error
):
    give(studio, member, 3)
    response = member_client.post(ask_url(studio), {"amount": amount})
    assert response.status_code == 422
    assert error in response.content.decode()
    assert "Ensure this value" not in response.content.decode()
    assert not BudgetRequest.objects.exists()


def test_asking_for_less_than_a_cent_says_the_least_in_dollars(
    member_client, nanogpt_studio, member
):
    give(nanogpt_studio, member, "5")
    response = member_client.post(ask_url(nanogpt_studio), {"amount": "0.001"})
    assert response.status_code == 422
    assert "Ask for at least $0.01." in response.content.decode()
    assert not BudgetRequest.objects.exists()


def test_a_viewer_cannot_ask(viewer_client, studio):
    assert viewer_client.get(ask_url(studio)).status_code == 403
    assert viewer_client.post(ask_url(studio), {"amount": "2"}).status_code == 403
    assert not BudgetRequest.objects.exists()


# --- Deciding ----------------------------------------------------------------------------------


@pytest.fixture
def asked(studio, member):
    """The member, 50 of 50 images used, asks for 4 more."""
    give(studio, member, 50)
    spend(studio, member, 50)
    return budget_request_create(
        workspace=studio, user=member, amount=Decimal(4), unit="images", note="A last batch"
    )


def test_approving_lets_the_member_submit_the_job_that_was_refused(
    submit, studio, member, owner_client, asked
):
    with pytest.raises(SubmitRefused, match="you have 0 of your 50 left"):
        submit(n=4)
    response = owner_client.post(decide_url(asked), {"decision": "approve"})
    assert response.status_code == 302
    asked.refresh_from_db()
    assert asked.state == "approved"
    assert asked.decided_by.email == "alice@example.com"
    grant = LedgerEntry.objects.get(kind="grant")
    assert (grant.member, grant.amount) == (member, -4)
    assert used(studio, member) == 46  # the month's limit stays 50; 4 more fit
    job = submit(n=4)
    assert Job.objects.filter(pk=job.pk).exists()
    with pytest.raises(SubmitRefused, match="you have 0 of your 50 left"):
        submit(n=1)


def test_a_grant_does_not_lift_the_workspace_cap(submit, studio, member, owner_client, asked):
    WorkspaceBudget.objects.create(workspace=studio, cap=Decimal(52), cap_unlimited=False)
    owner_client.post(decide_url(asked), {"decision": "approve"})
    with pytest.raises(SubmitRefused, match="the workspace has 2 of its 52 cap left"):
        submit(n=4)
    submit(n=2)


def test_approving_and_declining_are_audited_and_told_to_the_member(
    studio, member, owner, owner_client, asked, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(decide_url(asked), {"decision": "approve"})
    event = AuditEvent.objects.get(verb="budget.request_approved")
    assert (event.actor, event.target, event.detail) == (
        owner,
        "bob@example.com",
        "4 images more this month",
    )
    told = Notification.objects.get(recipient=member)
    assert (told.kind, told.text) == (
        "request_approved",
        "Your request for 4 images more this month was approved.",
    )
    second = budget_request_create(
        workspace=studio, user=member, amount=Decimal(9), unit="images", note=""
    )
    owner_client.post(decide_url(second), {"decision": "decline", "note": "Not this month"})
    event = AuditEvent.objects.get(verb="budget.request_declined")
    assert event.detail == "9 images more this month: Not this month"
    assert Notification.objects.filter(recipient=member).first().text == (
        "Your request for 9 images more this month was declined. "
        "alice@example.com: “Not this month”"
    )


def test_declining_leaves_the_budget_unchanged(studio, member, owner_client, asked):
    owner_client.post(decide_url(asked), {"decision": "decline"})
    asked.refresh_from_db()
    assert asked.state == "declined"
    assert used(studio, member) == 50
    assert not LedgerEntry.objects.filter(kind="grant").exists()


def test_a_request_is_decided_once(studio, member, owner_client, asked):
    owner_client.post(decide_url(asked), {"decision": "approve"})
    response = owner_client.post(decide_url(asked), {"decision": "approve"}, follow=True)
    assert "This request was already decided." in response.content.decode()
    assert LedgerEntry.objects.filter(kind="grant").count() == 1


def test_a_member_cannot_decide_their_own_request(member_client, asked):
    response = member_client.post(decide_url(asked), {"decision": "approve"})
    assert response.status_code == 403
    asked.refresh_from_db()
    assert asked.state == "pending"


def test_an_admin_of_another_workspace_cannot_decide(outsider_client, asked):
    assert outsider_client.post(decide_url(asked), {"decision": "approve"}).status_code == 404
    asked.refresh_from_db()
    assert asked.state == "pending"


def test_admins_see_pending_requests_with_a_count(owner_client, studio, asked):
    html = owner_client.get(budgets_url(studio)).content.decode()
    assert "bob@example.com</strong> asks for <strong>4 images</strong> more this month" in html
    assert "“A last batch”" in html
    assert "1 pending" in html
    assert 'title="Requests for more waiting for an admin">1<' in html  # the Budgets tab


def test_approving_with_htmx_answers_the_page_without_the_request(owner_client, studio, asked):
    response = owner_client.post(decide_url(asked), {"decision": "approve"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="budget-page">')
    assert '<span id="budget-requests-badge" hx-swap-oob="true"></span>' in html  # tab: 0
    assert "No requests waiting." in html
    assert "Granted 4 images more: request" in html  # shown in the member's row


# --- Adjusting by hand ------------------------------------------------------------------------


def test_an_admin_adjusts_a_members_month_with_a_reason(owner_client, studio, member, owner):
    give(studio, member, 10)
    spend(studio, member, 6)
    p = adjust_prefix(studio, member)
    response = owner_client.post(
        adjust_url(studio, member), {f"{p}-amount": "-3", f"{p}-reason": "Blank images refunded"}
    )
    assert response.status_code == 302
    assert used(studio, member) == 3
    entry = LedgerEntry.objects.filter(kind="adjust").last()
    assert (entry.amount, entry.note, entry.created_by) == (-3, "Blank images refunded", owner)
    event = AuditEvent.objects.get(verb="budget.adjusted")
    assert (event.target, event.detail) == ("bob@example.com", "-3 images: Blank images refunded")
    html = owner_client.get(budgets_url(studio)).content.decode()
    assert "Adjusted -3 images: Blank images refunded" in html
    assert "Used 3 of 10 images this month" in html


@pytest.mark.parametrize(
    ("amount", "reason", "error"),
    [
        ("1.5", "r", "Images are counted whole: enter a whole number."),
        ("0", "r", "Enter an amount other than 0."),
        ("", "r", "Enter an amount, e.g. -5 to give 5 back."),
        ("2", "", "Say why, for the audit log."),
    ],
)
def test_an_adjustment_needs_a_whole_nonzero_amount_and_a_reason(
    owner_client, studio, member, amount, reason, error
):
    p = adjust_prefix(studio, member)
    response = owner_client.post(
        adjust_url(studio, member), {f"{p}-amount": amount, f"{p}-reason": reason}
    )
    assert response.status_code == 422
    assert error in response.content.decode()
    assert not LedgerEntry.objects.exists()
    assert not AuditEvent.objects.filter(verb="budget.adjusted").exists()


def test_a_member_cannot_adjust(member_client, studio, member):
    p = adjust_prefix(studio, member)
    response = member_client.post(
        adjust_url(studio, member), {f"{p}-amount": "-50", f"{p}-reason": "mine"}
    )
    assert response.status_code == 403
    assert not LedgerEntry.objects.exists()


def test_an_admin_does_not_decide_their_own_request(owner_client, studio, owner):
    give(studio, owner, 5)
    own = budget_request_create(
        workspace=studio, user=owner, amount=Decimal(2), unit="images", note=""
    )
    assert "Another admin decides your own request." in (
        owner_client.get(budgets_url(studio)).content.decode()
    )
    assert owner_client.post(decide_url(own), {"decision": "approve"}).status_code == 403
    own.refresh_from_db()
    assert own.state == "pending"


def test_a_decision_other_than_approve_or_decline_changes_nothing(owner_client, asked):
    assert owner_client.post(decide_url(asked), {"decision": "delete"}).status_code == 400
    asked.refresh_from_db()
    assert asked.state == "pending"


def test_an_unlimited_member_has_nothing_to_ask_for(member_client, studio, member):
    give(studio, member, None)
    html = member_client.get(ask_url(studio)).content.decode()
    assert "Your budget is unlimited, so there is nothing to ask for." in html
    assert "Send the request" not in html


def test_giving_back_more_than_was_used_is_refused_next_to_the_amount(owner_client, studio, member):
    give(studio, member, 3)
    spend(studio, member, 1)
    LedgerEntry.objects.create(  # a grant is room, not use: it cannot be given back
        workspace=studio, member=member, kind="grant", amount=-2, unit="images"
    )
    p = adjust_prefix(studio, member)
    response = owner_client.post(
        adjust_url(studio, member), {f"{p}-amount": "-2", f"{p}-reason": "Refund"}
    )
    assert response.status_code == 422
    name = member.get_full_name() or member.email
    html = response.content.decode()
    errors = html.split(f'id="id_{p}-amount_error"')[1].split("</div>")[0]
    assert f"{name} used 1 image this month; you can give back at most 1." in errors
    assert LedgerEntry.objects.filter(kind="adjust").count() == 1
    assert not AuditEvent.objects.filter(verb="budget.adjusted").exists()
    response = owner_client.post(
        adjust_url(studio, member), {f"{p}-amount": "-1", f"{p}-reason": "Refund"}
    )
    assert response.status_code == 302
    assert used(studio, member) == -2  # 1 used, 1 given back, 2 granted


# --- The admins' bell -------------------------------------------------------------------------


@pytest.mark.parametrize("decision", ["approve", "decline"])
def test_deciding_a_request_marks_every_admins_notification_of_it_read(
    client_for, studio, member, owner, decision
):
    other_admin = MembershipFactory(workspace=studio, role="admin").user
    other_member = MembershipFactory(workspace=studio, role="member").user
    give(studio, member, 3)
    give(studio, other_member, 3)
    asked = budget_request_create(
        workspace=studio, user=member, amount=Decimal(2), unit="images", note=""
    )
    budget_request_create(
        workspace=studio, user=other_member, amount=Decimal(1), unit="images", note=""
    )
    unread = Notification.objects.filter(kind="request_new", read_at__isnull=True)
    assert unread.count() == 4  # two requests, two admins
    response = client_for(other_admin).post(decide_url(asked), {"decision": decision})
    assert response.status_code == 302
    assert sorted(unread.values_list("recipient__email", flat=True)) == sorted(
        [owner.email, other_admin.email]  # the other member's request is still waiting
    )
    assert all(f"#request-{asked.pk}" not in n.url for n in unread)
