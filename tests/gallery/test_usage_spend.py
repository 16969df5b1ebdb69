"""The usage page's spend control: the provider's quota in full, budget bars, the ledger (filter,
pages, CSV) and the reconciliation of Darkroom's ledger with the provider's count."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from gallery.budget_figures import budget_bars
from gallery.ledger import PAGE_SIZE, plain_decimal
from gallery.models import Job, LedgerEntry, MemberBudget, QuotaSnapshot, WorkspaceBudget
from gallery.models.budgets import this_month
from gallery.quota_facts import quota_facts
from gallery.services.budgets import amount_text
from gallery.services.quota import quota_refresh
from gallery.usage import reconciliation
from tests.factories import MembershipFactory
from tests.gallery.running import run_until_done


def page(workspace, **query) -> str:
    url = reverse("gallery:usage", args=[workspace.slug])
    return f"{url}?{'&'.join(f'{k}={v}' for k, v in query.items())}" if query else url


def csv_url(workspace, **query) -> str:
    url = reverse("gallery:usage_ledger_csv", args=[workspace.slug])
    return f"{url}?{'&'.join(f'{k}={v}' for k, v in query.items())}" if query else url


def entry(workspace, user, amount, kind="adjust", unit="images", **fields) -> LedgerEntry:
    return LedgerEntry.objects.create(
        workspace=workspace, member=user, kind=kind, amount=Decimal(amount), unit=unit, **fields
    )


def csv_rows(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


def snapshot(**fields) -> QuotaSnapshot:
    """An unsaved report, for the pure functions."""
    fields.setdefault("kind", "credits")
    fields.setdefault("taken_at", timezone.now())
    return QuotaSnapshot(**fields)


# --- The quota in full ------------------------------------------------------------------------

NOW = dt.datetime(2026, 12, 1, 18, 30, tzinfo=dt.UTC)


def test_every_figure_of_a_neuroflash_report_gets_its_line():
    report = snapshot(
        monthly_used=12,
        monthly_limit=100,
        monthly_available=93,
        daily_used=3,
        daily_limit=50,
        bonus=4,
        spillover=1,
        fair_use_reached=False,
    )
    facts = {fact.label: fact for fact in quota_facts(report, now=NOW)}
    assert facts["This month"].value == "12 of 100 images used"
    assert facts["This month"].percent == 12
    assert facts["Left this month"].value == "93 images"
    assert "bonus and carried-over" in facts["Left this month"].note
    assert facts["Today"].value == "3 of 50 images used · 47 left"
    assert facts["Today"].percent == 6
    assert facts["Bonus"].value == "4 images"
    assert facts["Carried over"].value == "1 image"
    assert facts["Fair use"].value == "Not reached"
    assert facts["Resets"].value == "Today's limit at midnight UTC, in 5 h 30 min"


def test_fields_the_provider_left_out_say_so_and_limits_reached_are_flagged():
    report = snapshot(
        monthly_used=100,
        monthly_limit=100,
        monthly_available=0,
        daily_used=45,
        daily_limit=50,
        fair_use_reached=True,
    )
    facts = {fact.label: fact for fact in quota_facts(report, now=NOW)}
    assert (facts["This month"].level, facts["Left this month"].level) == ("exhausted", "exhausted")
    assert facts["Today"].level == "warning"  # 90 %
    assert facts["Fair use"].value == "Reached"
    assert "slow generation" in facts["Fair use"].note
    assert facts["Bonus"].value == facts["Carried over"].value == "not reported"


def test_a_balance_provider_shows_its_balance_and_no_limits():
    facts = quota_facts(snapshot(kind="balance", balance=Decimal("129.46956147"), currency="USD"))
    assert [(f.label, f.value) for f in facts] == [("Balance", "$129.4696")]
    assert "not a quota" in facts[0].note


def test_the_page_shows_the_quota_the_sandbox_reported_with_its_age(member_client, studio, sandbox):
    sandbox.set_quota(
        limit_monthly=200,
        used_monthly=20,
        limit_daily=40,
        used_daily=5,
        bonus=7,
        spillover=3,
        fair_use_limit_reached=True,
    )
    quota_refresh(workspace=studio)
    html = member_client.get(page(studio)).content.decode()
    assert "Reported just now." in html
    assert "20 of 200 images used" in html
    assert "5 of 40 images used · 35 left" in html
    assert "<dt>Bonus</dt>" in html
    assert "7 images" in html
    assert "<dt>Carried over</dt>" in html
    assert "3 images" in html
    assert "The provider may slow generation down" in html
    assert "at midnight UTC" in html


def test_the_page_says_when_there_is_no_report_yet(member_client, studio):
    html = member_client.get(page(studio)).content.decode()
    assert "No quota report yet." in html
    assert "Darkroom: 0 images · provider: no report yet" in html


def test_an_old_report_is_shown_with_its_age_as_the_last_known(member_client, studio):
    report = QuotaSnapshot.objects.create(workspace=studio, kind="credits", monthly_used=1)
    QuotaSnapshot.objects.filter(pk=report.pk).update(
        taken_at=timezone.now() - dt.timedelta(hours=3)
    )
    html = member_client.get(page(studio)).content.decode()
    assert "Reported 3\xa0hours ago: the provider has not answered since" in html


# --- Reconciliation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("settled", "provider", "sentence"),
    [
        (412, 415, "Darkroom: 412 images · provider: 415 · 3 made outside Darkroom"),
        (
            5,
            3,
            "Darkroom: 5 images · provider: 3 · Darkroom counted 2 more than the provider reports",
        ),
        (1, 1, "Darkroom: 1 image · provider: 1 · they agree"),
        (0, 1, "Darkroom: 0 images · provider: 1 · 1 made outside Darkroom"),
    ],
)
def test_reconciliation_explains_the_difference(settled, provider, sentence):
    report = snapshot(monthly_used=provider)
    assert reconciliation(settled=Decimal(settled), unit="images", quota=report) == sentence


def test_reconciliation_names_what_running_jobs_reserved():
    report = snapshot(monthly_used=6)
    assert reconciliation(
        settled=Decimal(4), unit="images", quota=report, in_flight=Decimal(2)
    ) == (
        "Darkroom: 4 images · provider: 6 · 2 made outside Darkroom "
        "(2 images reserved by jobs still running)"
    )


def test_reconciliation_without_a_monthly_figure_is_not_available():
    assert reconciliation(settled=Decimal(3), unit="images", quota=snapshot()) == (
        "Darkroom: 3 images · provider: not available (it reports no monthly figure)"
    )
    assert reconciliation(settled=Decimal(3), unit="images", quota=None) == (
        "Darkroom: 3 images · provider: no report yet"
    )


def test_reconciliation_for_a_balance_provider_in_dollars():
    report = snapshot(kind="balance", balance=Decimal("9.5"), currency="USD")
    assert reconciliation(settled=Decimal("0.0336"), unit="USD", quota=report) == (
        "Darkroom: $0.0336 settled this month · provider: a balance of $9.50 left, "
        "with no monthly figure to compare"
    )


def test_the_page_reconciles_a_real_sandbox_job_with_the_providers_count(
    member_client, studio, sandbox, submit
):
    sandbox.set_quota(limit_monthly=100, used_monthly=10)  # made in neuroflash's own app
    job = submit(n=2)
    run_until_done(job)
    assert job.state == "succeeded", job.error
    quota_refresh(workspace=studio)
    html = member_client.get(page(studio)).content.decode()
    assert "Darkroom: 2 images · provider: 12 · 10 made outside Darkroom" in html


# --- Budget bars ------------------------------------------------------------------------------


def test_bars_count_used_and_reserved_by_running_jobs_apart(studio, submit, member, owner):
    MemberBudget.objects.create(workspace=studio, user=member, limit=Decimal(10), unlimited=False)
    WorkspaceBudget.objects.create(workspace=studio, cap=Decimal(40), cap_unlimited=False)
    run_until_done(submit(n=2))  # settled: 2
    submit(n=3)  # queued: 3 reserved
    entry(studio, owner, 4)  # an adjustment, settled by hand
    bars = budget_bars(workspace=studio, unit="images")
    mine = next(bar for bar in bars.members if bar.label == member.display_name)
    assert (mine.used, mine.reserved, mine.settled) == (5, 3, 2)
    assert (mine.settled_percent, mine.reserved_percent) == (20, 30)
    assert mine.text == "5 of 10 images used · 5 left"
    assert mine.reserved_text == "3 images reserved by jobs still running"
    assert (bars.cap.used, bars.cap.reserved, bars.cap.limit) == (9, 3, 40)
    theirs = next(bar for bar in bars.members if bar.label == owner.display_name)
    assert theirs.text == "4 images used · unlimited"
    assert theirs.reserved_text == ""


def test_a_bar_over_its_limit_stays_inside_its_track():
    from gallery.budget_figures import BudgetBar

    bar = BudgetBar("x", used=Decimal(12), reserved=Decimal(4), limit=Decimal(10), unit="images")
    assert bar.over
    assert bar.settled_percent + bar.reserved_percent == 100
    assert bar.text == "12 of 10 images used · 0 left"


def test_an_admin_sees_every_members_bar(owner_client, workspace, owner, member, viewer):
    MemberBudget.objects.create(
        workspace=workspace, user=member, limit=Decimal(50), unlimited=False
    )
    entry(workspace, member, 4)
    html = owner_client.get(page(workspace)).content.decode()
    assert "As an admin you see every member's budget." in html
    assert "Viewers do not generate, so they have no budget." in html
    assert html.count('class="budget-bar-row budget-member"') == 2  # not the viewer's
    assert "4 of 50 images used · 46 left" in html
    assert "Workspace cap" in html


def test_a_grant_raises_the_members_bar_and_reads_as_granted_in_the_ledger(
    owner_client, workspace, owner, member
):
    MemberBudget.objects.create(workspace=workspace, user=member, limit=Decimal(3), unlimited=False)
    entry(workspace, member, -2, kind="grant", note="request 1 approved", created_by=owner)
    entry(workspace, member, 4, kind="settle")
    html = owner_client.get(page(workspace)).content.decode()
    assert "4 of 5 images used (3 + 2 granted) · 1 left" in html
    ledger = html.split('id="ledger"')[1]
    assert ">2 images more<" in ledger
    assert "\u22122 images" not in ledger
    assert '<td class="ledger-note">request 1 approved</td>' in ledger


def test_the_ledger_shows_each_entrys_note(owner_client, workspace, owner, member):
    entry(workspace, member, -1, note="Blank images refunded", created_by=owner)
    entry(workspace, member, 2, kind="reserve")
    html = owner_client.get(page(workspace)).content.decode()
    assert '<th scope="col">Note</th>' in html
    assert '<td class="ledger-note">Blank images refunded</td>' in html
    assert '<td class="ledger-note">—</td>' in html  # the reservation has none


def test_a_member_sees_their_own_bar_and_the_cap_only(
    member_client, workspace, owner, member, viewer
):
    WorkspaceBudget.objects.create(workspace=workspace, cap=Decimal(100), cap_unlimited=False)
    entry(workspace, owner, 7)
    entry(workspace, member, 2)
    html = member_client.get(page(workspace)).content.decode()
    assert "You see your own budget and the workspace cap" in html
    assert html.count('class="budget-bar-row budget-member"') == 1
    assert "2 images used · unlimited" in html
    assert "9 of 100 images used · 91 left" in html  # the cap counts everyone
    assert owner.display_name not in html.split('id="budgets-heading"')[1].split("</section>")[0]


# --- The ledger -------------------------------------------------------------------------------


def test_an_admin_sees_every_entry_and_who_made_each(owner_client, studio, submit, owner, member):
    job = submit(n=2)
    entry(studio, member, -1, created_by=owner)
    html = owner_client.get(page(studio)).content.decode()
    ledger = html.split('id="ledger"')[1]
    assert ledger.count("<tr>") == 3  # the header and two entries
    assert "Reserved" in ledger
    assert "Adjusted" in ledger
    assert "+2 images" in ledger
    assert "\u22121 image" in ledger
    assert reverse("gallery:job_card", args=[studio.slug, job.pk]) in ledger  # no image yet
    assert owner.display_name in ledger  # made the adjustment


def test_a_finished_jobs_entries_link_to_its_image(owner_client, studio, submit):
    job = submit(n=1)
    run_until_done(job)
    image = job.images.get()
    html = owner_client.get(page(studio)).content.decode().split('id="ledger"')[1]
    assert html.count(reverse("gallery:image_detail", args=[studio.slug, image.pk])) == 3


def test_a_member_sees_only_their_own_entries_whatever_the_filter_says(
    member_client, workspace, owner, member
):
    entry(workspace, owner, 5)
    mine = entry(workspace, member, 3)
    for query in ({}, {"member": owner.pk}):
        response = member_client.get(page(workspace, **query))
        assert list(response.context["ledger_page"].entries) == [mine]
    rows = csv_rows(member_client.get(csv_url(workspace, member=owner.pk)))
    assert [row[4] for row in rows[1:]] == ["3"]


def test_the_filter_narrows_by_month_member_and_kind(owner_client, workspace, owner, member):
    last_month = (this_month() - dt.timedelta(days=1)).replace(day=1)
    old = entry(workspace, member, 1, period=last_month)
    reserve = entry(workspace, member, 2, kind="reserve")
    adjust = entry(workspace, member, 3)
    theirs = entry(workspace, owner, 4)

    def shown(**query):
        return list(owner_client.get(page(workspace, **query)).context["ledger_page"].entries)

    assert shown() == [theirs, adjust, reserve]  # this month, newest first
    assert shown(period="all") == [theirs, adjust, reserve, old]
    assert shown(period=f"{last_month:%Y-%m}") == [old]
    assert shown(member=member.pk) == [adjust, reserve]
    assert shown(member=member.pk, kind="reserve") == [reserve]


def test_a_filter_value_from_elsewhere_is_refused_next_to_the_ledger(
    owner_client, workspace, outsider
):
    entry(workspace, None, 1)
    response = owner_client.get(page(workspace, member=outsider.pk, kind="bogus"))
    html = response.content.decode()
    assert "That is not a member of this workspace; showing everyone." in html
    assert "Choose reserved, settled, released, adjusted or granted; showing every kind." in html
    assert len(response.context["ledger_page"].entries) == 1


def test_htmx_gets_just_the_ledger_and_the_address_to_push(owner_client, workspace, member):
    entry(workspace, member, 1)
    response = owner_client.get(
        page(workspace, member=member.pk, period="all"), HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="ledger"')
    assert "budgets-heading" not in html
    assert response["HX-Push-Url"] == page(workspace, period="all", member=member.pk)
    refused = owner_client.get(page(workspace, kind="bogus"), HTTP_HX_REQUEST="true")
    assert (
        '<p class="error filter-error" id="id_kind_error" hx-swap-oob="true">Choose reserved'
        in refused.content.decode()
    )


def test_the_ledger_pages_by_id_without_counting(
    owner_client, workspace, member, django_assert_max_num_queries
):
    LedgerEntry.objects.bulk_create(
        LedgerEntry(workspace=workspace, member=member, kind="adjust", amount=1, unit="images")
        for _ in range(PAGE_SIZE + 5)
    )
    first = owner_client.get(page(workspace))
    shown = first.context["ledger_page"]
    assert len(shown.entries) == PAGE_SIZE
    assert "Older entries" in first.content.decode()
    second = owner_client.get(page(workspace, before=shown.next_before))
    rest = second.context["ledger_page"]
    assert len(rest.entries) == 5
    assert rest.next_before is None
    assert {e.pk for e in shown.entries}.isdisjoint({e.pk for e in rest.entries})
    with django_assert_max_num_queries(20) as queries:
        owner_client.get(page(workspace), HTTP_HX_REQUEST="true")
    counts = [q["sql"] for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert not [sql for sql in counts if "gallery_ledgerentry" in sql]  # only the bell counts


def test_the_csv_has_a_header_plain_amounts_and_the_filtered_rows(
    owner_client, nanogpt_ledger, workspace, owner, member
):
    response = owner_client.get(csv_url(workspace, member=member.pk))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    month = f"{this_month():%Y-%m}"
    assert response["Content-Disposition"] == (
        f'attachment; filename="darkroom-ledger-{workspace.slug}-{month}.csv"'
    )
    rows = csv_rows(response)
    assert rows[0] == [
        "time (UTC)",
        "month",
        "member",
        "kind",
        "amount",
        "unit",
        "job",
        "made by",
        "note",
    ]
    job = str(nanogpt_ledger.pk)
    assert [row[2:] for row in rows[1:]] == [
        [member.display_name, "settle", "0.0112", "USD", job, "Darkroom", ""],
        [member.display_name, "release", "-0.0224", "USD", job, "Darkroom", ""],
        [member.display_name, "reserve", "0.0224", "USD", job, member.display_name, ""],
        [member.display_name, "adjust", "100", "USD", "", owner.display_name, "Top-up, ok"],
    ]
    assert all(row[1] == month for row in rows[1:])


@pytest.fixture
def nanogpt_ledger(workspace, owner, member) -> Job:
    """A USD ledger: an admin's adjustment, then one job reserved, released and settled."""
    entry(workspace, member, 100, unit="USD", created_by=owner, note="Top-up, ok")
    job = Job.objects.create(
        workspace=workspace, author=member, prompt="p", model_id="hidream", idempotency_key="k"
    )
    entry(workspace, member, "0.022400", kind="reserve", unit="USD", job=job, created_by=member)
    entry(workspace, member, "-0.022400", kind="release", unit="USD", job=job)
    entry(workspace, member, "0.011200", kind="settle", unit="USD", job=job)
    entry(workspace, owner, 1, unit="USD", created_by=owner)  # someone else's
    return job


def test_plain_decimals_have_no_exponent_or_trailing_zeros():
    values = ["100.000000", "0.011200", "-3", "0E-6", "1E+2"]
    assert [plain_decimal(Decimal(v)) for v in values] == ["100", "0.0112", "-3", "0", "100"]


def test_a_viewer_may_read_and_export_but_an_outsider_gets_404(
    viewer_client, outsider_client, workspace, viewer
):
    assert viewer_client.get(page(workspace)).status_code == 200
    assert viewer_client.get(csv_url(workspace)).status_code == 200
    assert outsider_client.get(csv_url(workspace)).status_code == 404
    assert viewer_client.post(csv_url(workspace)).status_code == 405


# --- Queries ----------------------------------------------------------------------------------


def test_the_page_reads_the_same_number_of_queries_however_many_members_and_entries(
    owner_client, studio, owner, member, django_assert_max_num_queries
):
    QuotaSnapshot.objects.create(workspace=studio, kind="credits", monthly_used=3, monthly_limit=9)
    owner_client.get(page(studio))  # warm the session and the site's caches
    with django_assert_max_num_queries(40) as few:
        owner_client.get(page(studio))
    for i in range(12):
        user = MembershipFactory(workspace=studio, user__email=f"m{i}@example.com").user
        MemberBudget.objects.create(workspace=studio, user=user, limit=10, unlimited=False)
        for kind in ("reserve", "release", "settle", "adjust"):
            entry(studio, user, 1, kind=kind)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = owner_client.get(page(studio))
    assert response.content.decode().count('class="budget-bar-row budget-member"') == 14


def test_a_nanogpt_workspace_sees_its_balance_and_dollars_reconciled(
    member_client, studio, sandbox, submit
):
    from accounts import crypto
    from gallery.services.catalog import catalog_refresh

    credential = studio.credential
    credential.kind = "nanogpt"
    credential.secret_encrypted = crypto.encrypt(sandbox.api_key)
    credential.save()
    catalog_refresh(workspace=studio)
    job = submit(model="hidream", size="1024x1024")
    run_until_done(job)
    assert job.state == "succeeded", job.error
    report = quota_refresh(workspace=studio)
    assert report is not None
    assert report.kind == "balance"
    html = member_client.get(page(studio)).content.decode()
    assert "<dt>Balance</dt>" in html
    assert "A prepaid balance, not a quota" in html
    assert f"Darkroom: ${job.cost.normalize()} settled this month · provider: a balance of" in html
    assert f"{amount_text(job.cost, 'USD')} used · unlimited" in html  # the member's bar, in USD
