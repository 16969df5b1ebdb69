"""Budgets: a submit reserves its cost in the ledger or is refused with the numbers; the job's
end settles the reservation to what it really cost; no burst of submits can overspend."""

from __future__ import annotations

import datetime as dt
import random
import threading
from decimal import Decimal
from unittest import mock

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from gallery.costs import CostEstimate
from gallery.models import (
    Job,
    JobStage,
    JobState,
    LedgerEntry,
    MemberBudget,
    QuotaSnapshot,
    WorkspaceBudget,
)
from gallery.services.budgets import budget_reserve, budget_settle, budget_used
from gallery.services.jobs import JobRequest, SubmitRefused, job_cancel, job_retry, job_submit
from providers.adapters import NeuroflashProvider
from tests.gallery.running import run_until_done


def give(workspace, user, limit: int | str | None) -> None:
    """`user`'s monthly budget: a number, or None for an explicit "unlimited"."""
    MemberBudget.objects.update_or_create(
        workspace=workspace,
        user=user,
        defaults={"limit": None if limit is None else Decimal(limit), "unlimited": limit is None},
    )


def spend(workspace, user, amount: int, unit: str = "images") -> None:
    """What `user` already used this month (an adjusting entry, as an admin would write)."""
    LedgerEntry.objects.create(
        workspace=workspace, member=user, kind="adjust", amount=Decimal(amount), unit=unit
    )


def used(workspace, user=None, unit: str = "images") -> Decimal:
    return budget_used(workspace=workspace, unit=unit, user=user)


def kinds(job: Job) -> list[tuple[str, Decimal]]:
    return [(e.kind, e.amount) for e in LedgerEntry.objects.filter(job=job).order_by("id")]


# --- Refusing up front ------------------------------------------------------------------------


def test_a_request_over_the_members_budget_is_refused_with_the_numbers(submit, studio, member):
    give(studio, member, 50)
    spend(studio, member, 48)
    with pytest.raises(SubmitRefused) as refused:
        submit(n=4)
    assert str(refused.value) == "This costs 4 images; you have 2 of your 50 left this month."
    assert not Job.objects.exists()  # refused before anything was queued
    assert used(studio, member) == 48


def test_the_generate_form_shows_the_refusal_with_the_numbers(member_client, studio, member):
    give(studio, member, 3)
    form = {
        "prompt": "a lighthouse at dusk",
        "model": "nano-banana-2",
        "n": "4",
        "aspect_ratio": "1:1",
        "output_format": "png",
        "idempotency_key": "k-1",
    }
    response = member_client.post(reverse("gallery:generate", args=[studio.slug]), form)
    assert "This costs 4 images; you have 3 of your 3 left this month." in response.content.decode()
    assert not Job.objects.exists()


def test_a_request_the_reported_balance_cannot_pay_for_is_refused(nanogpt_studio, submit):
    QuotaSnapshot.objects.create(workspace=nanogpt_studio, kind="balance", balance=Decimal("0.03"))
    submit(model="hidream", size="1024x1024")  # $0.0112: fits
    with pytest.raises(SubmitRefused) as refused:
        submit(model="hidream", size="1024x1024", n=2)  # $0.0224, and $0.0112 is queued
    assert str(refused.value) == (
        "This costs ≈ $0.0224; the provider's balance is $0.0188 after recent jobs. Top up the "
        "account with the provider, or choose fewer images or a cheaper model."
    )
    assert Job.objects.count() == 1


def test_a_request_that_fits_reserves_its_cost(submit, studio, member):
    give(studio, member, 50)
    job = submit(n=4)
    assert kinds(job) == [("reserve", 4)]
    assert used(studio, member) == 4


def test_an_unlimited_member_is_never_refused_but_still_counted(submit, studio, member):
    WorkspaceBudget.objects.create(
        workspace=studio, member_default=Decimal(0), member_default_unlimited=False
    )
    give(studio, member, None)  # unlimited, chosen explicitly: the default of 0 does not apply
    job = submit(n=4)
    assert kinds(job) == [("reserve", 4)]


def test_a_member_without_a_budget_of_their_own_gets_the_workspace_default(submit, studio):
    WorkspaceBudget.objects.create(
        workspace=studio, member_default=Decimal(3), member_default_unlimited=False
    )
    submit(n=2)
    with pytest.raises(SubmitRefused, match="you have 1 of your 3 left"):
        submit(n=2)


def test_the_workspace_cap_holds_across_members(submit, studio, owner):
    WorkspaceBudget.objects.create(workspace=studio, cap=Decimal(5), cap_unlimited=False)
    spend(studio, owner, 4)
    with pytest.raises(SubmitRefused) as refused:
        submit(n=2)
    assert str(refused.value) == (
        "This costs 2 images; the workspace has 1 of its 5 cap left this month."
    )


def test_an_unknown_price_is_refused_only_when_a_budget_is_set(nanogpt_studio, submit, member):
    job = submit(model="not-in-the-catalog")
    assert kinds(job) == []  # nothing to reserve, and nothing to hold it to
    give(nanogpt_studio, member, "5.00")
    with pytest.raises(SubmitRefused, match="price of this request is unknown"):
        submit(model="not-in-the-catalog")


def test_resubmitting_the_same_key_reserves_nothing_twice(studio, member):
    give(studio, member, 10)
    request = JobRequest("text2image", "a lighthouse", "nano-banana-2", {"n": 3})
    for _ in range(2):
        job_submit(workspace=studio, author=member, request=request, idempotency_key="same")
    assert used(studio, member) == 3


# --- Settling when the job ends ---------------------------------------------------------------


def test_a_finished_job_settles_to_the_images_delivered(submit, studio, member):
    job = submit(n=2)
    run_until_done(job)
    assert job.state == "succeeded", job.error
    assert kinds(job) == [("reserve", 2), ("release", -2), ("settle", 2)]
    assert used(studio, member) == 2


def test_a_partial_batch_settles_only_what_was_delivered(submit, sandbox, studio, member):
    sandbox.set_quota(limit_daily=10, used_daily=9)  # one image left today
    job = submit(n=2)
    run_until_done(job)
    assert job.delivered == 1
    assert kinds(job) == [("reserve", 2), ("release", -2), ("settle", 1)]
    assert used(studio, member) == 1


def test_a_failed_job_that_was_never_paid_releases_everything(submit, sandbox, studio, member):
    sandbox.faults(route="ds.generate", status=400, count=1)  # refused: permanent
    job = submit(n=3)
    run_until_done(job)
    assert (job.state, job.stage) == ("failed", "not_called")
    assert kinds(job) == [("reserve", 3), ("release", -3)]
    assert used(studio, member) == 0


def test_a_cancelled_job_releases_everything(submit, studio, member):
    job = submit(n=3)
    assert job_cancel(job=job, membership=member.memberships.get())
    assert kinds(job) == [("reserve", 3), ("release", -3)]
    assert used(studio, member) == 0


def test_a_balance_provider_settles_to_the_reported_cost(nanogpt_studio, submit, member):
    job = submit(model="hidream", size="1024x1024")
    run_until_done(job)
    assert job.state == "succeeded", job.error
    assert [(k, a) for k, a in kinds(job)] == [
        ("reserve", Decimal("0.0112")),
        ("release", Decimal("-0.0112")),
        ("settle", job.cost),
    ]
    assert used(nanogpt_studio, member, unit="USD") == job.cost


def test_a_job_is_settled_once_however_often_it_ends(submit, studio, member):
    job = submit(n=2)
    run_until_done(job)
    budget_settle(job_id=job.pk)  # a resumed or adopted job ending again
    budget_settle(job_id=job.pk)
    assert kinds(job) == [("reserve", 2), ("release", -2), ("settle", 2)]


def test_a_paid_job_whose_storing_failed_and_was_retried_is_settled_once(
    submit, sandbox, studio, member
):
    sandbox.faults({"route": "storage.file", "status": 503}, {"route": "ds.view", "status": 503})
    job = submit(n=2)
    run_until_done(job)
    assert (job.state, job.stage) == ("failed", "paid")
    assert used(studio, member) == 2  # paid for, though not stored yet
    sandbox.clear_faults()
    job_retry(job=job, author=member, idempotency_key="retry-1")
    run_until_done(job)
    assert job.state == "succeeded", job.error
    assert kinds(job) == [("reserve", 2), ("release", -2), ("settle", 2)]


def test_a_balance_provider_that_charged_without_images_settles_the_charge(
    nanogpt_studio, submit, sandbox, member
):
    sandbox.faults(route="ng.generate", status=502, after=True, count=1)
    job = submit(model="hidream", size="1024x1024")
    run_until_done(job)
    assert (job.state, job.stage, job.cost) == ("failed", "called", Decimal("0.0112"))
    assert used(nanogpt_studio, member, unit="USD") == Decimal("0.0112")


def test_a_job_whose_outcome_nobody_can_tell_keeps_its_reservation(submit, sandbox, member):
    job = submit(n=2)
    Job.objects.filter(pk=job.pk).update(stage="called", called_at=timezone.now())
    # A provider without history cannot tell whether the lost call went through.
    no_history = NeuroflashProvider.capabilities.__class__(has_history=False, has_get_image=True)
    with mock.patch.object(NeuroflashProvider, "capabilities", no_history):
        run_until_done(job)
    assert (job.state, job.stage, job.cost) == ("failed", "called", None)
    # It may have been charged: counted as spent, not handed back to be spent again.
    assert kinds(job) == [("reserve", 2), ("release", -2), ("settle", 2)]
    assert used(job.workspace, member) == 2


def test_a_job_reserved_last_month_settles_in_last_month(submit, studio, member):
    job = submit(n=2)
    last_month = (timezone.localdate().replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    LedgerEntry.objects.filter(job=job).update(period=last_month)  # submitted on the 31st
    run_until_done(job)
    assert used(studio, member) == 0  # this month owes nothing for it
    assert set(LedgerEntry.objects.filter(job=job).values_list("period", flat=True)) == {last_month}


# --- The ledger is the balance ----------------------------------------------------------------


def test_the_ledger_always_sums_to_what_was_reserved_and_spent(workspace, member):
    """Random sequences of submits and endings (fixed seed): after every step the balance is
    the open reservations plus what the ended jobs really cost."""
    rng = random.Random(13)
    open_jobs: dict[int, int] = {}
    spent = 0
    for step in range(200):
        if open_jobs and rng.random() < 0.5:
            job_id = rng.choice(list(open_jobs))
            reserved = open_jobs.pop(job_id)
            outcome = rng.choice(["succeeded", "partial", "failed", "cancelled"])
            delivered = {"succeeded": reserved, "partial": rng.randint(0, reserved)}.get(outcome, 0)
            paid = outcome in ("succeeded", "partial")
            Job.objects.filter(pk=job_id).update(
                state=JobState.SUCCEEDED if paid else JobState(outcome),
                stage=JobStage.PAID if paid else JobStage.NOT_CALLED,
                delivered=delivered if paid else None,
            )
            for _ in range(rng.randint(1, 3)):  # ends may be reported more than once
                budget_settle(job_id=job_id)
            spent += delivered
        else:
            n = rng.randint(1, 4)
            job = Job.objects.create(
                workspace=workspace, author=member, prompt="p", idempotency_key=f"k{step}"
            )
            estimate = CostEstimate(images=n, quota_kind="credits")
            budget_reserve(job=job, user=member, estimate=estimate)
            open_jobs[job.pk] = n
        assert used(workspace, member) == spent + sum(open_jobs.values())


# --- Concurrency ------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_submits_never_reserve_more_than_the_budget(
    studio, member, settings, sent_tasks
):
    """50 submits at once, one image each, against a budget of 10: exactly 10 are reserved
    and queued, the other 40 are refused. On SQLite and on PostgreSQL (DATABASE_URL)."""
    settings.JOBS_MAX_ACTIVE_PER_WORKSPACE = 1000
    settings.JOBS_PER_MEMBER_PER_MINUTE = 1000
    give(studio, member, 10)
    start = threading.Barrier(50)
    refused: list[str] = []
    errors: list[BaseException] = []

    def one(i: int) -> None:
        try:
            start.wait()
            job_submit(
                workspace=studio,
                author=member,
                request=JobRequest("text2image", "a burst", "nano-banana-2", {"n": 1}),
                idempotency_key=f"burst-{i}",
            )
        except SubmitRefused as exc:
            refused.append(str(exc))
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=one, args=(i,)) for i in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert Job.objects.count() == 10
    assert len(refused) == 40
    assert used(studio, member) == 10
    assert LedgerEntry.objects.filter(kind="reserve").count() == 10
