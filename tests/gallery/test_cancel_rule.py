"""Who may cancel a job, and when: the job card shows Cancel exactly when pressing it works."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from gallery.models import Job
from tests.factories import MembershipFactory

SOON = timezone.now() + dt.timedelta(minutes=5)

# state name → the row as the runner leaves it, and whether nothing has gone to the provider yet
STATES = {
    "queued": ({}, True),
    "requeued after a 429 (Retry-After)": (
        {"attempts": 1, "next_attempt_at": SOON, "error": "Rate limited; trying again"},
        True,
    ),
    "requeued by the reaper before the call": (
        {"attempts": 1, "error": "The worker stopped mid-job; resuming."},
        True,
    ),
    "requeued after a lost answer": (
        {"attempts": 1, "stage": "called", "next_attempt_at": SOON, "error": "Timed out."},
        False,
    ),
    "requeued to store a paid result": ({"attempts": 1, "stage": "paid"}, False),
    "running": ({"state": "running", "attempts": 1}, False),
    "running, provider called": ({"state": "running", "stage": "called"}, False),
    "succeeded": ({"state": "succeeded", "stage": "paid"}, False),
    "failed": ({"state": "failed", "error": "Refused."}, False),
    "cancelled": ({"state": "cancelled"}, False),
}

# role name → (role of the person looking, whether they started the job)
ROLES = {
    "author": (Role.MEMBER, True),
    "other member": (Role.MEMBER, False),
    "admin": (Role.ADMIN, False),
    "viewer": (Role.VIEWER, False),
    "author demoted to viewer": (Role.VIEWER, True),
}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("state", STATES)
def test_cancel_is_offered_exactly_when_it_works(client_for, workspace, state, role):
    changes, not_sent_yet = STATES[state]
    role_name, is_author = ROLES[role]
    person = MembershipFactory(workspace=workspace, role=role_name).user
    author = person if is_author else MembershipFactory(workspace=workspace).user
    job = Job.objects.create(
        workspace=workspace,
        author=author,
        prompt="a lighthouse at dusk",
        model_id="nano-banana-2",
        params={"n": 1},
        idempotency_key="k-1",
    )
    Job.objects.filter(pk=job.pk).update(**changes)
    client = client_for(person)
    cancel_url = reverse("gallery:job_cancel", args=[workspace.slug, job.pk])

    card = client.get(
        reverse("gallery:job_card", args=[workspace.slug, job.pk]), HTTP_HX_REQUEST="true"
    ).content.decode()
    shown = f'action="{cancel_url}"' in card
    response = client.post(cancel_url)
    job.refresh_from_db()
    cancelled = job.state == "cancelled" and "cancelled" not in changes.values()

    assert shown == cancelled
    allowed = role_name == Role.ADMIN or (is_author and role_name != Role.VIEWER)
    assert cancelled == (not_sent_yet and allowed)
    if not allowed:
        assert response.status_code == 403
