"""The quota meter on every workspace page, for each state the provider can be in."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from gallery.models import QuotaSnapshot
from gallery.services.jobs import job_cancel
from gallery.services.quota import quota_refresh
from tests.gallery.running import run_until_done


def meter(client, workspace) -> str:
    html = client.get(reverse("gallery:home", args=[workspace.slug])).content.decode()
    start = html.index('<div class="meter')
    return html[start : html.index("</div>", start)]


def snapshot(workspace, **fields) -> QuotaSnapshot:
    values = {"kind": "credits", "monthly_limit": 100, "daily_limit": 20, "daily_used": 2, **fields}
    values.setdefault("monthly_available", values["monthly_limit"] - values.get("monthly_used", 0))
    return QuotaSnapshot.objects.create(workspace=workspace, **values)


@pytest.mark.parametrize(
    ("used", "level", "note"),
    [
        (10, "meter-ok", None),
        (80, "meter-warning", None),
        (100, "meter-exhausted", "quota used up"),
    ],
)
def test_it_colours_the_meter_at_80_and_100_percent(member_client, workspace, used, level, note):
    snapshot(workspace, monthly_used=used)
    html = meter(member_client, workspace)
    assert level in html
    assert f"<strong>{used}</strong> of 100 used this month" in html
    assert "2 of 20 today" in html
    assert f"meter-fill-{used}" in html
    if note:
        assert note in html


@pytest.mark.parametrize(
    ("daily_used", "level", "note"),
    [
        (15, "meter-ok", None),
        (16, "meter-warning", None),  # 80 % of the day, with the month nearly untouched
        (20, "meter-exhausted", "daily quota used up"),
    ],
)
def test_it_colours_the_meter_at_80_and_100_percent_of_the_day_too(
    member_client, workspace, daily_used, level, note
):
    snapshot(workspace, monthly_used=10, daily_used=daily_used)
    html = meter(member_client, workspace)
    assert level in html
    assert f"{daily_used} of 20 today" in html
    assert "meter-fill-10" in html  # the bar still shows the month
    if note:
        assert note in html


def test_it_warns_when_the_fair_use_limit_is_reached(member_client, workspace):
    snapshot(workspace, monthly_used=10, fair_use_reached=True)
    html = meter(member_client, workspace)
    assert "meter-warning" in html
    assert "fair-use limit reached" in html


def test_it_keeps_the_last_known_value_with_its_age_when_the_provider_is_down(
    member_client, studio, sandbox
):
    quota_refresh(workspace=studio)
    QuotaSnapshot.objects.update(taken_at=timezone.now() - dt.timedelta(hours=3))
    sandbox.faults(route="nf.quotas", status=503, count=10)
    assert quota_refresh(workspace=studio) is None  # no crash, no empty snapshot
    html = meter(member_client, studio)
    assert "of 1000 used this month" in html
    assert "last known, 3" in html
    assert "meter-stale" in html


def test_nanogpt_shows_the_balance(member_client, workspace):
    QuotaSnapshot.objects.create(
        workspace=workspace, kind="balance", balance="12.5", currency="USD"
    )
    assert "Balance <strong>12.50 USD</strong>" in meter(member_client, workspace)


def test_no_report_yet_shows_no_numbers_only_that_it_is_asking(member_client, workspace):
    html = member_client.get(reverse("gallery:home", args=[workspace.slug])).content.decode()
    assert "used this month" not in html
    assert "Quota: asking the provider…" in html


def test_members_can_ask_for_a_fresh_quota(
    member_client, workspace, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = member_client.post(reverse("gallery:quota_refresh", args=[workspace.slug]))
    assert response["Location"] == reverse("gallery:usage", args=[workspace.slug])
    assert len(callbacks) == 1  # the refresh task, sent once the request commits


def test_the_meter_is_in_the_header_of_every_workspace_page(owner_client, workspace):
    snapshot(workspace, monthly_used=10)
    for url in (
        reverse("gallery:generate", args=[workspace.slug]),
        reverse("accounts:settings_members", args=[workspace.slug]),
        reverse("gallery:usage", args=[workspace.slug]),
    ):
        html = owner_client.get(url).content.decode()
        assert (
            '<div id="quota-meter" class="topbar-meter"><div class="meter meter-ok'
            in html.replace("\n", "")
        )


def _oob_meter(html: str) -> str:
    start = html.index('<div id="quota-meter"')
    return html[start : html.index("</div>\n", start)]


def test_a_finished_job_card_brings_the_header_meter_with_the_new_numbers(
    member_client, studio, submit, sandbox
):
    quota_refresh(workspace=studio)  # the meter as the page showed it: nothing used yet
    job = submit(n=2)
    card_url = reverse("gallery:job_card", args=[studio.slug, job.pk])
    running = member_client.get(card_url, HTTP_HX_REQUEST="true").content.decode()
    assert 'id="quota-meter"' not in running  # the card polls on, the meter stays put

    run_until_done(job)
    quota_refresh(workspace=studio)  # the refresh a finished job sets off
    done = member_client.get(card_url, HTTP_HX_REQUEST="true").content.decode()

    slot = _oob_meter(done)
    assert 'hx-swap-oob="true"' in slot
    assert "<strong>2</strong> of 1000 used this month" in slot
    # It asks again after the refresh's few seconds, for when the card came back first.
    job.refresh_from_db()
    ended = int(job.finished_at.timestamp() * 1000)
    meter_url = reverse("gallery:quota_meter", args=[studio.slug]) + f"?job_ended={ended}"
    assert f'hx-get="{meter_url}" hx-trigger="load delay:8s"' in slot


def test_a_cancelled_job_card_leaves_the_meter_alone(member, member_client, studio, submit):
    """A cancel sets off no quota refresh: nothing new to wait for."""
    job = submit()
    assert job_cancel(job=job, membership=member.memberships.get())
    card_url = reverse("gallery:job_card", args=[studio.slug, job.pk])

    done = member_client.get(card_url, HTTP_HX_REQUEST="true").content.decode()

    assert 'class="job job-cancelled"' in done
    assert 'id="quota-meter"' not in done


def test_after_a_job_the_meter_asks_until_the_report_after_it_is_in(member_client, workspace):
    ended = timezone.now()
    before = snapshot(workspace, monthly_used=3)
    QuotaSnapshot.objects.filter(pk=before.pk).update(taken_at=ended - dt.timedelta(seconds=2))
    url = reverse("gallery:quota_meter", args=[workspace.slug])
    query = f"?job_ended={int(ended.timestamp() * 1000)}"

    def meter() -> str:
        return member_client.get(url + query, HTTP_HX_REQUEST="true").content.decode()

    waiting = meter()
    assert "<strong>3</strong> of 100 used this month" in waiting
    assert f'hx-get="{url}{query}" hx-trigger="load delay:5s"' in waiting

    snapshot(workspace, monthly_used=5)  # the refresh the job set off
    landed = meter()
    assert "<strong>5</strong> of 100 used this month" in landed
    assert "hx-get" not in landed


def test_the_meter_stops_asking_when_the_report_after_a_job_never_comes(member_client, workspace):
    snapshot(workspace, monthly_used=3)
    url = reverse("gallery:quota_meter", args=[workspace.slug])
    long_ago = timezone.now() - dt.timedelta(seconds=46)

    html = member_client.get(
        url + f"?job_ended={int(long_ago.timestamp() * 1000)}", HTTP_HX_REQUEST="true"
    ).content.decode()

    assert "<strong>3</strong> of 100 used this month" in html
    assert "hx-get" not in html


@pytest.mark.parametrize("value", ["", "abc", "12", "-1700000000000", "99999999999999999999"])
def test_a_meter_asked_with_a_mangled_job_end_just_shows_the_report(
    member_client, workspace, value
):
    snapshot(workspace, monthly_used=3)
    url = reverse("gallery:quota_meter", args=[workspace.slug])

    response = member_client.get(url, {"job_ended": value}, HTTP_HX_REQUEST="true")

    assert response.status_code == 200
    assert "<strong>3</strong> of 100 used this month" in response.content.decode()
    assert "hx-get" not in response.content.decode()


def test_a_new_workspace_meter_asks_again_until_the_first_report_arrives(
    member_client, workspace, sent_tasks, django_capture_on_commit_callbacks
):
    meter_url = reverse("gallery:quota_meter", args=[workspace.slug])
    page = member_client.get(reverse("gallery:generate", args=[workspace.slug])).content.decode()
    assert "Quota: asking the provider…" in page
    assert f'hx-get="{meter_url}" hx-trigger="load delay:3s"' in page

    for _ in range(3):  # the meter's polls have the first report fetched, once
        with django_capture_on_commit_callbacks(execute=True):
            html = member_client.get(meter_url, HTTP_HX_REQUEST="true").content.decode()
        assert "Quota: asking the provider…" in html
        assert f'hx-get="{meter_url}" hx-trigger="load delay:10s"' in html
    refreshes = [t for t in sent_tasks if t.name == "gallery.tasks.refresh_quota"]
    assert [t.args for t in refreshes] == [(workspace.pk,)]

    snapshot(workspace, monthly_used=3)
    html = member_client.get(meter_url, HTTP_HX_REQUEST="true").content.decode()
    assert "<strong>3</strong> of 100 used this month" in html
    assert "hx-get" not in html  # the first report is in: no more asking


def test_the_meter_alone_has_the_latest_numbers_and_asks_no_more(member_client, workspace):
    snapshot(workspace, monthly_used=42)

    html = member_client.get(
        reverse("gallery:quota_meter", args=[workspace.slug]), HTTP_HX_REQUEST="true"
    ).content.decode()

    assert html.lstrip().startswith('<div id="quota-meter" class="topbar-meter">')
    assert "<strong>42</strong> of 100 used this month" in html
    assert "hx-get" not in html
    assert "hx-swap-oob" not in html


def test_make_run_queues_one_refresh_for_each_workspace_without_a_meter(
    workspace, django_capture_on_commit_callbacks, sent_tasks
):
    from django.core.management import call_command

    from tests.factories import WorkspaceFactory

    reported = WorkspaceFactory(name="Reported", slug="reported")
    snapshot(reported, monthly_used=1)

    with django_capture_on_commit_callbacks(execute=True):
        call_command("refresh_quotas")

    assert [(task.name, task.args) for task in sent_tasks] == [
        ("gallery.tasks.refresh_quota", (workspace.pk,))
    ]


def test_a_page_of_no_workspace_shows_the_meter_of_the_workspace_in_its_header(
    owner, owner_client, workspace
):
    snapshot(workspace, monthly_used=10)
    owner.is_staff = True
    owner.save()
    html = owner_client.get(reverse("staff_users")).content.decode().replace("\n", "")
    assert '<div id="quota-meter" class="topbar-meter"><div class="meter meter-ok' in html
    assert "<strong>10</strong> of 100 used this month" in html


def test_the_meter_alone_reads_the_report_once(member_client, workspace):
    snapshot(workspace, monthly_used=7)
    url = reverse("gallery:quota_meter", args=[workspace.slug])
    member_client.get(url, HTTP_HX_REQUEST="true")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        member_client.get(url, HTTP_HX_REQUEST="true")
    reads = [q for q in queries if "gallery_quotasnapshot" in q["sql"]]
    assert len(reads) == 1, [q["sql"] for q in reads]
