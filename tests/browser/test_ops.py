"""The operations page in a real browser: reached from the account menu, readable at a glance."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Role
from gallery.models import Job
from gallery.services import ops
from tests.browser.test_foundation import log_in
from tests.factories import MembershipFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def busy_machine(workspace):
    now = timezone.now()
    ops.heartbeat_write(name="celery@web-1", role="worker", now=now - dt.timedelta(hours=3))
    ops.heartbeat_write(name="celery@web-1", role="worker", now=now - dt.timedelta(seconds=6))
    ops.heartbeat_write(name="celery@web-2", role="worker", now=now - dt.timedelta(minutes=4))
    ops.heartbeat_write(name="celery@old", role="worker", now=now - dt.timedelta(days=1))
    ops.heartbeat_stop(name="celery@old", now=now - dt.timedelta(days=1))
    ops.beat_tick(now=now - dt.timedelta(seconds=12))
    for n, (state, minutes) in enumerate([("queued", 9), ("queued", 1), ("running", 0)]):
        job = Job.objects.create(
            workspace=workspace, prompt="p", model_id="m", idempotency_key=f"k{n}", state=state
        )
        Job.objects.filter(pk=job.pk).update(created_at=now - dt.timedelta(minutes=minutes))
    Job.objects.create(
        workspace=workspace, prompt="p", model_id="m", idempotency_key="f", state="failed",
        finished_at=now,
    )  # fmt: skip


def test_staff_open_the_operations_page_from_the_account_menu(
    page, screenshot, workspace, make_user, busy_machine
):
    staff = make_user(email="ops@example.com", first_name="Olga", is_staff=True)
    MembershipFactory(workspace=workspace, user=staff, role=Role.ADMIN)
    log_in(page, staff.email)
    page.locator(".usermenu summary").click()
    page.get_by_role("link", name="Operations").click()

    expect(page.get_by_role("heading", name="Operations")).to_be_visible()
    workers = page.get_by_role("region", name="Workers")
    expect(workers.get_by_role("row")).to_have_count(4)  # the header and three workers
    expect(workers.get_by_text("Silent", exact=True)).to_be_visible()
    expect(page.get_by_text("9 min old: job")).to_be_visible()
    screenshot("ops-page")
