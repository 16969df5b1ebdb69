"""Notifications: at 80 % and 100 % of a member's budget and of the workspace cap, once a
month each, under the header's bell (whose count costs no query) and by email from a worker."""

from __future__ import annotations

import datetime as dt
import smtplib
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse

from accounts import tasks
from accounts.models import Notification
from gallery.models import WorkspaceBudget
from gallery.models.budgets import this_month
from tests.factories import MembershipFactory
from tests.gallery.test_budgets import give, spend


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """Run what a submit leaves for after its commit (the notifications), as a real one would."""

    def run(action):
        with django_capture_on_commit_callbacks(execute=True):
            return action()

    return run


def told(user, kind=None) -> list[str]:
    found = Notification.objects.filter(recipient=user).order_by("id")
    if kind:
        found = found.filter(kind=kind)
    return [n.text for n in found]


def test_a_member_is_told_once_at_80_and_once_at_100_percent(
    submit, studio, member, committed, sent_tasks
):
    give(studio, member, 10)
    committed(lambda: submit(n=7))
    assert told(member) == []  # 70 %
    committed(lambda: submit(n=1))
    committed(lambda: submit(n=1))  # 80 %, then 90 %: still once
    assert told(member) == ["You have used 8 of your 10 images this month (80 %)."]
    committed(lambda: submit(n=1))
    assert told(member, "budget_100") == [
        "You have used all of your 10 images this month. You can ask an admin for more."
    ]
    assert Notification.objects.filter(recipient=member).count() == 2
    emails = [t for t in sent_tasks if t.name == "accounts.tasks.send_notification_email"]
    assert len(emails) == 2


def test_crossing_both_thresholds_at_once_tells_the_full_one(submit, studio, member, committed):
    give(studio, member, 4)
    committed(lambda: submit(n=4))
    assert [n.kind for n in Notification.objects.all()] == ["budget_100"]


def test_a_month_already_past_80_percent_is_told_at_the_next_submit(
    submit, studio, member, committed
):
    give(studio, member, 10)
    spend(studio, member, 8)  # an adjustment made it 80 %: the next submit tells it
    committed(lambda: submit(n=1))
    assert told(member) == ["You have used 9 of your 10 images this month (90 %)."]
    committed(lambda: submit(n=1))
    kinds = Notification.objects.filter(recipient=member).order_by("id")
    assert [n.kind for n in kinds] == ["budget_80", "budget_100"]


def test_the_workspace_cap_tells_every_admin_not_the_member(
    submit, studio, member, owner, committed
):
    second_admin = MembershipFactory(
        workspace=studio, role="admin", user__email="carol@example.com"
    ).user
    WorkspaceBudget.objects.create(workspace=studio, cap=Decimal(5), cap_unlimited=False)
    committed(lambda: submit(n=4))
    expected = ["The workspace has used 4 of its 5 images cap this month (80 %)."]
    assert told(owner) == expected
    assert told(second_admin) == expected
    committed(lambda: submit(n=1))
    assert told(owner, "cap_100") == ["The workspace has used all of its 5 images cap this month."]
    assert told(member) == []  # the member has no budget of their own: unlimited


def test_below_80_percent_the_submit_leaves_nothing_to_tell(
    submit, studio, member, django_capture_on_commit_callbacks
):
    give(studio, member, 10)
    with django_capture_on_commit_callbacks() as below:
        submit(n=7)
    with django_capture_on_commit_callbacks() as crossing:
        submit(n=1)
    # The job's own dispatch only; crossing 80 % adds the notification, after the commit.
    assert (len(below), len(crossing)) == (1, 2)
    assert not Notification.objects.exists()  # nothing told inside the submit's transaction


def test_the_email_says_what_the_bell_says(studio, member, submit, committed, sent_tasks, settings):
    settings.SITE_URL = "http://darkroom.example"
    give(studio, member, 1)
    committed(lambda: submit(n=1))
    (task,) = [t for t in sent_tasks if t.name == "accounts.tasks.send_notification_email"]
    tasks.send_notification_email(*task.args)
    (email,) = mail.outbox
    assert email.to == ["bob@example.com"]
    assert email.subject == "[Studio] All of your budget"
    assert "You have used all of your 1 image this month." in email.body
    link = "http://darkroom.example" + reverse("gallery:budget_ask", args=[studio.slug])
    assert f"Open it in Darkroom: {link}" in email.body  # absolute: SITE_URL in front


def test_an_unreachable_worker_does_not_fail_the_submit(
    submit, studio, member, committed, monkeypatch
):
    def refuse(*args, **kwargs):
        raise OSError("Connection refused")

    monkeypatch.setattr("accounts.notifications.send_task", refuse)
    give(studio, member, 1)
    job = committed(lambda: submit(n=1))
    assert job.pk
    assert told(member) == [
        "You have used all of your 1 image this month. You can ask an admin for more."
    ]


def test_a_failing_mail_server_is_retried_by_the_task(studio, owner, monkeypatch):
    notification = Notification.objects.create(
        recipient=owner, workspace=studio, kind="cap_80", text="t"
    )

    def down(*args, **kwargs):
        raise smtplib.SMTPServerDisconnected("gone")

    monkeypatch.setattr("accounts.notifications.send_mail", down)
    assert smtplib.SMTPException in tasks.send_notification_email.autoretry_for
    with pytest.raises(smtplib.SMTPException):
        tasks.send_notification_email.run(notification.pk)


# --- The bell ----------------------------------------------------------------------------------


def bell_label(html: str) -> str:
    start = html.index('aria-label="Notifications: ') + len('aria-label="')
    return html[start : html.index('"', start)]


def test_the_bell_shows_the_unread_count(member_client, studio, member, owner):
    for text in ("one", "two"):
        Notification.objects.create(recipient=member, workspace=studio, kind="budget_80", text=text)
    Notification.objects.create(recipient=owner, workspace=studio, kind="cap_80", text="not mine")
    html = member_client.get(reverse("gallery:home", args=[studio.slug])).content.decode()
    assert bell_label(html) == "Notifications: 2 unread"
    assert '<span class="bell-count">2</span>' in html


def test_the_bell_is_not_for_viewers(viewer_client, studio):
    html = viewer_client.get(reverse("gallery:home", args=[studio.slug])).content.decode()
    assert "bell-count" not in html
    assert 'aria-label="Notifications' not in html


def test_the_list_marks_nothing_read_and_opening_one_marks_it_and_goes_there(
    member_client, studio, member
):
    first = Notification.objects.create(
        recipient=member, workspace=studio, kind="budget_80", text="First", url="/somewhere/"
    )
    Notification.objects.create(recipient=member, workspace=studio, kind="budget_100", text="Two")
    url = reverse("gallery:notifications", args=[studio.slug])
    html = member_client.get(url, HTTP_HX_REQUEST="true").content.decode()
    assert html.count("Unread: ") == 2
    response = member_client.post(
        reverse("gallery:notification_open", args=[studio.slug, first.pk])
    )
    assert response["Location"] == "/somewhere/"
    first.refresh_from_db()
    assert first.read_at is not None
    html = member_client.get(reverse("gallery:home", args=[studio.slug])).content.decode()
    assert bell_label(html) == "Notifications: 1 unread"


def test_a_notification_pointing_off_site_is_not_followed(member_client, studio, member):
    evil = Notification.objects.create(
        recipient=member, workspace=studio, kind="budget_80", text="x", url="https://evil.test/"
    )
    response = member_client.post(reverse("gallery:notification_open", args=[studio.slug, evil.pk]))
    assert response["Location"] == reverse("gallery:notifications", args=[studio.slug])


def test_someone_elses_notification_cannot_be_opened(member_client, studio, owner):
    theirs = Notification.objects.create(recipient=owner, workspace=studio, kind="cap_80", text="x")
    url = reverse("gallery:notification_open", args=[studio.slug, theirs.pk])
    assert member_client.post(url).status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_all_read_empties_the_bell(member_client, studio, member, owner):
    for kind in ("budget_80", "budget_100"):
        Notification.objects.create(recipient=member, workspace=studio, kind=kind, text=kind)
    other = Notification.objects.create(recipient=owner, workspace=studio, kind="cap_80", text="x")
    response = member_client.post(
        reverse("gallery:notifications_read", args=[studio.slug]), HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert bell_label(html) == "Notifications: none unread"
    assert not Notification.objects.filter(recipient=member, read_at__isnull=True).exists()
    other.refresh_from_db()
    assert other.read_at is None  # only the member's own


def test_the_notifications_page_lists_the_members_own_in_a_fixed_number_of_queries(
    member_client, studio, member, owner, django_assert_max_num_queries
):
    url = reverse("gallery:notifications", args=[studio.slug])
    member_client.get(url)
    Notification.objects.create(recipient=member, workspace=studio, kind="budget_80", text="one")
    with django_assert_max_num_queries(6) as few:
        member_client.get(url)
    for i in range(30):
        Notification.objects.create(recipient=member, workspace=studio, kind="x", text=f"n{i}")
    Notification.objects.create(recipient=owner, workspace=studio, kind="cap_80", text="theirs")
    with django_assert_max_num_queries(len(few.captured_queries)):
        html = member_client.get(url).content.decode()
    assert "theirs" not in html
    assert html.count('class="notification is-unread"') == 20


def test_a_threshold_told_last_month_is_told_again_this_month(submit, studio, member, committed):
    last_month = (this_month() - dt.timedelta(days=1)).replace(day=1)
    Notification.objects.create(
        recipient=member, workspace=studio, kind="budget_80", text="old", period=last_month
    )
    give(studio, member, 10)
    committed(lambda: submit(n=8))
    assert told(member, "budget_80") == [
        "old",
        "You have used 8 of your 10 images this month (80 %).",
    ]
