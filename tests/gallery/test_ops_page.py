"""The operations page: staff see the workers and beat as last seen, the queue and recent
failures, in a few queries; nobody else sees it."""

from __future__ import annotations

import datetime as dt
import socket
import time

import pytest
from django.urls import reverse
from django.utils import timezone

from gallery.models import Job, ProcessHeartbeat
from gallery.ops import ago, ops_overview
from gallery.services import ops
from gallery.tasks import record_beat


@pytest.fixture
def staff(make_user):
    return make_user(email="ops@example.com", is_staff=True)


@pytest.fixture
def staff_client(client_for, staff):
    return client_for(staff)


def _page(client) -> str:
    response = client.get(reverse("ops"))
    assert response.status_code == 200
    return response.content.decode()


def test_it_sends_an_anonymous_visitor_to_log_in(client, db):
    response = client.get(reverse("ops"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("who", ["owner_client", "member_client", "viewer_client"])
def test_it_refuses_everyone_but_staff(who, request):
    response = request.getfixturevalue(who).get(reverse("ops"))
    assert response.status_code == 403
    assert "The operations page is for staff users." in response.content.decode()


def test_it_only_answers_get(staff_client):
    assert staff_client.post(reverse("ops")).status_code == 405


def test_staff_find_it_in_the_account_menu(staff_client, owner_client, workspace):
    assert f'href="{reverse("ops")}"' in _page(staff_client)
    home = owner_client.get(reverse("gallery:home", args=[workspace.slug])).content.decode()
    assert f'href="{reverse("ops")}"' not in home


def test_it_says_when_nothing_has_reported_yet(staff_client):
    html = _page(staff_client)
    assert "No worker has reported yet." in html
    assert "Beat has not ticked yet." in html
    assert "Queued jobs</dt><dd>0</dd>" in html


def test_workers_show_as_running_silent_or_stopped(staff_client):
    now = timezone.now()
    ops.heartbeat_write(name="celery@web-1", role="worker", now=now - dt.timedelta(minutes=5))
    ops.heartbeat_write(name="celery@web-1", role="worker", now=now - dt.timedelta(seconds=4))
    ops.heartbeat_write(name="celery@old", role="worker", now=now - dt.timedelta(minutes=2))
    ops.heartbeat_write(name="celery@gone", role="worker", now=now - dt.timedelta(hours=1))
    ops.heartbeat_stop(name="celery@gone", now=now - dt.timedelta(hours=1))

    overview = ops_overview(now=now)
    assert [(w.row.name, w.state, w.seen_ago) for w in overview.workers] == [
        ("celery@web-1", "running", "4 s"),
        ("celery@gone", "stopped", "60 min"),
        ("celery@old", "silent", "2 min"),
    ]
    assert overview.workers[0].up_for == "4 min"
    html = _page(staff_client)
    assert html.count('<span class="badge badge-ok">Running</span>') == 1
    assert "Silent" in html
    assert "Stopped" in html


def test_a_worker_that_starts_again_counts_its_uptime_afresh(db):
    now = timezone.now()
    ops.heartbeat_write(name="w", role="worker", now=now - dt.timedelta(hours=3))
    ops.heartbeat_stop(name="w", now=now - dt.timedelta(hours=2))
    ops.heartbeat_write(name="w", role="worker", now=now)
    row = ProcessHeartbeat.objects.get(name="w")
    assert (row.started_at, row.seen_at, row.stopped_at) == (now, now, None)


def test_beats_tick_shows_when_beat_last_ran_and_forgets_long_gone_workers(staff_client):
    ops.heartbeat_write(
        name="celery@retired", role="worker", now=timezone.now() - dt.timedelta(days=8)
    )
    record_beat.apply()
    assert not ProcessHeartbeat.objects.filter(name="celery@retired").exists()
    beat = ProcessHeartbeat.objects.get(role="beat")
    assert (timezone.now() - beat.seen_at).total_seconds() < 5
    html = _page(staff_client)
    assert "Last tick</dt><dd>0 s ago" in html


def _job(workspace, *, state="queued", age=dt.timedelta(0), **fields) -> Job:
    job = Job.objects.create(
        workspace=workspace,
        prompt="p",
        model_id="m",
        idempotency_key=f"k{Job.objects.count()}",
        state=state,
        **fields,
    )
    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - age)
    return job


def test_it_shows_the_queue_the_oldest_queued_job_and_recent_failures(
    staff_client, workspace, django_assert_max_num_queries
):
    now = timezone.now()
    oldest = _job(workspace, age=dt.timedelta(minutes=7))
    _job(workspace, age=dt.timedelta(minutes=1))
    _job(workspace, next_attempt_at=now + dt.timedelta(minutes=2))  # waiting to retry
    _job(workspace, state="running")
    _job(workspace, state="failed", finished_at=now - dt.timedelta(hours=2))
    _job(workspace, state="failed", finished_at=now - dt.timedelta(days=2))  # too long ago
    _job(workspace, state="succeeded", finished_at=now)
    for n in range(5):
        ops.heartbeat_write(name=f"celery@w{n}", role="worker", now=now)

    # session, user, heartbeats, queue counts, the oldest job, failures: however many rows
    with django_assert_max_num_queries(6):
        html = _page(staff_client)

    assert "Queued jobs</dt><dd>3 (2 due now, 1 waiting to retry)</dd>" in html
    assert "Running jobs</dt><dd>1</dd>" in html
    assert f"7 min old: job {oldest.pk} in Studio" in html
    assert 'Failed jobs, last 24 hours</dt><dd><span class="error-text">1</span>' in html
    assert "Broker messages</dt><dd>0 waiting" in html


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_broker_that_does_not_answer_leaves_the_rest_of_the_page_intact(
    staff_client, workspace, settings
):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{_closed_port()}/0"
    settings.CELERY_BROKER_TRANSPORT = None
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    _job(workspace)
    html = _page(staff_client)
    assert "Unknown: the broker did not answer (OperationalError: " in html
    assert "Queued jobs</dt><dd>1</dd>" in html


@pytest.mark.parametrize(
    ("seconds", "words"),
    [(0, "0 s"), (89, "89 s"), (90, "1 min"), (5399, "89 min"), (5400, "1 h 30 min"),
     (7200, "2 h"), (3 * 86400, "3 days")],
)  # fmt: skip
def test_ages_read_at_a_glance(seconds, words):
    assert ago(seconds) == words


@pytest.mark.integration
def test_a_running_worker_reports_its_heartbeat(celery_worker, transactional_db):
    deadline = timezone.now() + dt.timedelta(seconds=20)
    while timezone.now() < deadline:
        rows = list(ProcessHeartbeat.objects.filter(role="worker"))
        if rows:
            break
        time.sleep(0.2)
    [row] = rows
    assert row.stopped_at is None
    assert ops_overview().workers[0].state == "running"
