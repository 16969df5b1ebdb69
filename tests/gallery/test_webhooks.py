"""Webhooks: an admin sets a receiver URL; finished and failed jobs are POSTed to it, signed,
and retried with backoff when the receiver is down. The receiver is a real HTTP server on
loopback; the delivery task runs in the test process as a worker would run it."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import re
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import crypto
from accounts.models import AuditEvent
from gallery import tasks
from gallery.models import Image, Webhook, WebhookDelivery
from gallery.services import webhook_delivery, webhooks
from gallery.services.jobs import job_cancel, job_retry
from gallery.services.webhook_delivery import MAX_ATTEMPTS, RETRY_DELAYS
from tests.gallery.running import run_until_done

DELIVER = "gallery.tasks.deliver_webhook"
SECRET = re.compile(r"whsec_[A-Za-z0-9_-]{40,}")


def page(slug: str) -> str:
    return reverse("gallery:settings_webhooks", args=[slug])


def add_webhook(client, slug: str, url: str, events=("job.succeeded", "job.failed")) -> str:
    """Add the webhook as an admin does on the page; returns the secret it shows once."""
    response = client.post(page(slug), {"url": url, "events": list(events), "enabled": "on"})
    assert response.status_code == 200, response.content.decode()
    (secret,) = set(SECRET.findall(response.content.decode()))
    return secret


def run_deliveries(sent_tasks) -> int:
    """Run the delivery messages sent so far, each once, as a worker takes a message (those
    they send for a later attempt wait for the next call)."""
    waiting = [t for t in sent_tasks if t.name == DELIVER and not getattr(t, "ran", False)]
    for task in waiting:
        task.ran = True
        tasks.deliver_webhook(*task.args)
    return len(waiting)


def verify(secret: str, headers: dict[str, str], body: bytes) -> int:
    """What a receiver does (the README's example): returns the signed time."""
    parts = dict(item.split("=", 1) for item in headers["X-Darkroom-Signature"].split(","))
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256)
    assert hmac.compare_digest(parts["v1"], expected.hexdigest())
    return int(parts["t"])


def readme_verify():
    """The README's example, as a receiver would copy it."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme[readme.index("### Webhooks") :]
    start = section.index("```python") + len("```python")
    code = section[start : section.index("```", start)]
    namespace: dict = {}
    exec(code, namespace)  # noqa: S102 (our own README)
    return namespace["verify"]


def time_passes(delivery: WebhookDelivery) -> None:
    """The wait before the next attempt is over."""
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())


# --- Delivering job events ----------------------------------------------------------------------


def test_a_finished_job_reaches_the_receiver_correctly_signed(
    studio, owner_client, submit, receiver, sent_tasks, settings, django_capture_on_commit_callbacks
):
    settings.SITE_URL = "https://darkroom.example"
    secret = add_webhook(owner_client, studio.slug, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        job = submit(n=2)
        run_until_done(job)
    assert job.state == "succeeded"
    before = int(timezone.now().timestamp())
    assert run_deliveries(sent_tasks) == 1

    (request,) = receiver.received
    assert request.path == "/hooks/darkroom"
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Darkroom-Event"] == "job.succeeded"
    delivery = WebhookDelivery.objects.get()
    assert request.headers["X-Darkroom-Delivery"] == str(delivery.uuid)
    assert abs(verify(secret, request.headers, request.body) - before) <= 2
    readme = readme_verify()
    assert readme(secret, request.headers["X-Darkroom-Signature"], request.body)
    assert not readme(secret, request.headers["X-Darkroom-Signature"], request.body + b" ")
    body = json.loads(request.body)
    images = list(Image.objects.filter(job=job).order_by("pk").values_list("pk", flat=True))
    assert len(images) == 2
    assert body["id"] == str(delivery.uuid)
    assert body["event"] == "job.succeeded"
    assert body["workspace"] == {"slug": "studio"}
    assert body["job"]["id"] == job.pk
    assert body["job"]["state"] == "succeeded"
    assert body["job"]["error"] is None
    assert dt.datetime.fromisoformat(body["job"]["finished_at"]) == job.finished_at
    assert body["job"]["images"] == [
        {
            "id": pk,
            "page_url": f"https://darkroom.example/w/studio/images/{pk}/",
            "file_url": f"https://darkroom.example/w/studio/images/{pk}/file/",
        }
        for pk in images
    ]
    delivery.refresh_from_db()
    assert (delivery.state, delivery.status_code, delivery.attempts) == ("delivered", 200, 1)


def test_a_failed_job_reaches_the_receiver_with_its_error(
    studio, owner_client, submit, receiver, sandbox, sent_tasks, django_capture_on_commit_callbacks
):
    secret = add_webhook(owner_client, studio.slug, receiver.url)
    sandbox.faults(route="ds.generate", status=400, count=1)
    with django_capture_on_commit_callbacks(execute=True):
        job = submit()
        run_until_done(job)
    assert job.state == "failed"
    run_deliveries(sent_tasks)
    (request,) = receiver.received
    verify(secret, request.headers, request.body)
    assert request.headers["X-Darkroom-Event"] == "job.failed"
    body = json.loads(request.body)
    assert (body["event"], body["job"]["state"]) == ("job.failed", "failed")
    assert job.error
    assert body["job"]["error"] == job.error
    assert body["job"]["images"] == []


def test_a_job_cancelled_before_it_started_reaches_the_receiver_as_cancelled(
    studio, member_client, owner_client, submit, receiver, sent_tasks,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    secret = add_webhook(owner_client, studio.slug, receiver.url, events=["job.cancelled"])
    job = submit()
    with django_capture_on_commit_callbacks(execute=True):
        response = member_client.post(reverse("gallery:job_cancel", args=[studio.slug, job.pk]))
    assert response.status_code in (200, 302)
    job.refresh_from_db()
    assert job.state == "cancelled"

    assert run_deliveries(sent_tasks) == 1
    (request,) = receiver.received
    verify(secret, request.headers, request.body)
    assert request.headers["X-Darkroom-Event"] == "job.cancelled"
    body = json.loads(request.body)
    assert (body["event"], body["job"]["state"], body["job"]["error"]) == (
        "job.cancelled",
        "cancelled",
        None,
    )
    assert dt.datetime.fromisoformat(body["job"]["finished_at"]) == job.finished_at


def test_a_webhook_without_the_cancelled_event_hears_nothing_of_a_cancel(
    studio, member, owner_client, submit, receiver, django_capture_on_commit_callbacks
):
    add_webhook(owner_client, studio.slug, receiver.url, events=["job.succeeded", "job.failed"])
    job = submit()
    with django_capture_on_commit_callbacks(execute=True):
        assert job_cancel(job=job, membership=member.memberships.get())
    assert not WebhookDelivery.objects.exists()


def test_a_job_ending_is_told_once_and_only_for_the_events_chosen(
    studio, owner_client, submit, receiver, sent_tasks, django_capture_on_commit_callbacks
):
    add_webhook(owner_client, studio.slug, receiver.url, events=["job.failed"])
    with django_capture_on_commit_callbacks(execute=True):
        run_until_done(submit())
    assert not WebhookDelivery.objects.exists()  # job.succeeded was not chosen
    job = submit()
    ended = timezone.now()
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(2):  # a worker's retried transaction (the same ending) tells it once
            webhooks.webhook_job_ended(job=job, event="job.failed", finished_at=ended)
    assert WebhookDelivery.objects.filter(job=job).count() == 1
    assert [t.name for t in sent_tasks if t.name == DELIVER] == [DELIVER]


def test_a_paid_job_that_fails_again_after_retry_download_is_told_again(
    studio, owner_client, member, submit, receiver, sandbox, sent_tasks,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    add_webhook(owner_client, studio.slug, receiver.url)
    sandbox.faults({"route": "storage.file", "status": 503}, {"route": "ds.view", "status": 503})
    job = submit()
    with django_capture_on_commit_callbacks(execute=True):
        run_until_done(job)
        assert (job.state, job.stage) == ("failed", "paid")
        first_end = job.finished_at
        job_retry(job=job, author=member, idempotency_key="retry-1")  # the images still fail
        run_until_done(job)
        assert job.state == "failed"
        sandbox.clear_faults()
        job_retry(job=job, author=member, idempotency_key="retry-2")
        run_until_done(job)
    assert job.state == "succeeded", job.error
    run_deliveries(sent_tasks)

    told = [json.loads(request.body) for request in receiver.received]
    assert [body["event"] for body in told] == ["job.failed", "job.failed", "job.succeeded"]
    ends = [dt.datetime.fromisoformat(body["job"]["finished_at"]) for body in told]
    assert ends[0] == first_end
    assert ends[0] < ends[1] < ends[2] == job.finished_at
    assert len({body["id"] for body in told}) == 3  # three deliveries, not one retried
    assert sandbox.calls("POST ds.generate") == 1


def test_a_paused_webhook_gets_no_events(
    studio, owner_client, submit, receiver, django_capture_on_commit_callbacks
):
    add_webhook(owner_client, studio.slug, receiver.url)
    owner_client.post(page(studio.slug), {"url": receiver.url, "events": ["job.succeeded"]})
    assert Webhook.objects.get().enabled is False  # the box was unticked
    with django_capture_on_commit_callbacks(execute=True):
        run_until_done(submit())
    assert not WebhookDelivery.objects.exists()


# --- Retries ------------------------------------------------------------------------------------


def test_a_receiver_answering_500_is_retried_and_the_second_attempt_delivers(
    studio, owner, owner_client, receiver, sent_tasks, django_capture_on_commit_callbacks
):
    secret = add_webhook(owner_client, studio.slug, receiver.url)
    receiver.answer(500)
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(reverse("gallery:webhook_test", args=[studio.slug]))
    run_deliveries(sent_tasks)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.state, delivery.attempts, delivery.status_code) == ("pending", 1, 500)
    wait = (delivery.next_attempt_at - timezone.now()).total_seconds()
    assert RETRY_DELAYS[0] * 0.85 < wait <= RETRY_DELAYS[0] * 1.1
    retry = [t for t in sent_tasks if t.name == DELIVER][-1]
    assert retry.eta is not None  # the message for the next attempt is due then
    assert abs((retry.eta - delivery.next_attempt_at).total_seconds()) < 2

    tasks.deliver_webhook(delivery.pk)  # a duplicate arriving early sends nothing
    assert len(receiver.received) == 1

    time_passes(delivery)
    run_deliveries(sent_tasks)
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.status_code) == ("delivered", 2, 200)
    assert [(a["attempt"], a["status"]) for a in delivery.attempt_log] == [(1, 500), (2, 200)]
    first, second = receiver.received
    assert first.headers["X-Darkroom-Delivery"] == second.headers["X-Darkroom-Delivery"]
    assert first.body == second.body  # the payload is fixed when the event happens
    verify(secret, second.headers, second.body)

    html = owner_client.get(page(studio.slug)).content.decode()
    assert "200 delivered" in html
    assert f"2 of {MAX_ATTEMPTS}" in html
    assert "The receiver answered 500." in html  # the first attempt, in its details


def test_a_receiver_refusing_with_400_is_not_retried(
    studio, owner_client, receiver, sent_tasks, django_capture_on_commit_callbacks
):
    add_webhook(owner_client, studio.slug, receiver.url)
    receiver.answer(400)
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(reverse("gallery:webhook_test", args=[studio.slug]))
    assert run_deliveries(sent_tasks) == 1  # no message for a later attempt
    delivery = WebhookDelivery.objects.get()
    assert (delivery.state, delivery.attempts, delivery.status_code) == ("failed", 1, 400)
    assert delivery.error == "The receiver refused it with 400; not retried."
    assert len(receiver.received) == 1


def test_it_gives_up_after_the_last_attempt_and_honours_retry_after(
    studio, owner_client, receiver, sent_tasks, django_capture_on_commit_callbacks
):
    add_webhook(owner_client, studio.slug, receiver.url)
    receiver.answer(*[503] * MAX_ATTEMPTS)
    receiver.headers["Retry-After"] = "120"
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(reverse("gallery:webhook_test", args=[studio.slug]))
    delivery = WebhookDelivery.objects.get()
    waits = []
    for _ in range(MAX_ATTEMPTS):
        run_deliveries(sent_tasks)
        delivery.refresh_from_db()
        if delivery.next_attempt_at and delivery.state == "pending":
            waits.append((delivery.next_attempt_at - timezone.now()).total_seconds())
            time_passes(delivery)
    assert (delivery.state, delivery.attempts) == ("failed", MAX_ATTEMPTS)
    assert len(receiver.received) == MAX_ATTEMPTS
    assert len(waits) == MAX_ATTEMPTS - 1
    assert 115 < waits[0] <= 121  # Retry-After over the schedule's 10 s
    assert waits[-1] > RETRY_DELAYS[-1] * 0.85  # the schedule once it is longer


def test_a_receiver_that_is_down_is_retried(
    studio, owner_client, receiver, sent_tasks, settings, django_capture_on_commit_callbacks
):
    closed = "http://127.0.0.1:9/hook"  # the discard port: nothing listens there
    settings.WEBHOOK_PRIVATE_HOSTS = ["127.0.0.1"]
    add_webhook(owner_client, studio.slug, closed)
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(reverse("gallery:webhook_test", args=[studio.slug]))
    run_deliveries(sent_tasks)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.state, delivery.attempts) == ("pending", 1)
    assert delivery.error == "Could not connect to the receiver."


def test_redirects_are_not_followed(
    studio, owner_client, receiver, sent_tasks, django_capture_on_commit_callbacks
):
    add_webhook(owner_client, studio.slug, receiver.url)
    receiver.answer(302)
    receiver.headers["Location"] = "http://169.254.169.254/latest/meta-data/"
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(reverse("gallery:webhook_test", args=[studio.slug]))
    run_deliveries(sent_tasks)
    delivery = WebhookDelivery.objects.get()
    assert (delivery.state, delivery.status_code) == ("failed", 302)
    assert "do not follow redirects" in delivery.error
    assert len(receiver.received) == 1


def test_the_worker_refuses_an_address_the_operator_no_longer_allows(
    studio, owner_client, receiver, sent_tasks, settings, django_capture_on_commit_callbacks
):
    add_webhook(owner_client, studio.slug, receiver.url)
    settings.WEBHOOK_PRIVATE_HOSTS = []
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(reverse("gallery:webhook_test", args=[studio.slug]))
    run_deliveries(sent_tasks)
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == "failed"  # not retried: it would be refused again
    assert "Refused by the network guard" in delivery.error
    assert "loopback" in delivery.error
    assert receiver.received == []


def test_the_resend_tick_sends_what_lost_its_message_or_its_worker(
    studio, owner_client, receiver, sent_tasks, django_capture_on_commit_callbacks
):
    add_webhook(owner_client, studio.slug, receiver.url)
    webhook = Webhook.objects.get()
    long_ago = timezone.now() - dt.timedelta(minutes=10)
    lost = WebhookDelivery.objects.create(
        webhook=webhook, event="webhook.test", payload={}, next_attempt_at=long_ago
    )
    stuck = WebhookDelivery.objects.create(
        webhook=webhook, event="webhook.test", payload={}, state="sending", claimed_at=long_ago
    )
    waiting = WebhookDelivery.objects.create(
        webhook=webhook,
        event="webhook.test",
        payload={},
        next_attempt_at=timezone.now() + dt.timedelta(minutes=5),
    )
    assert webhook_delivery.webhook_deliveries_resend() == 2
    assert sorted(t.args for t in sent_tasks if t.name == DELIVER) == [(lost.pk,), (stuck.pk,)]
    run_deliveries(sent_tasks)
    states = dict(WebhookDelivery.objects.values_list("pk", "state"))
    assert states == {lost.pk: "delivered", stuck.pk: "delivered", waiting.pk: "pending"}


def test_the_secret_never_reaches_the_logs(
    studio, owner_client, receiver, sent_tasks, logs, django_capture_on_commit_callbacks
):
    secret = add_webhook(owner_client, studio.slug, receiver.url)
    receiver.answer(500)
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(reverse("gallery:webhook_test", args=[studio.slug]))
    run_deliveries(sent_tasks)
    assert "Webhook delivery" in logs.text
    assert secret not in logs.text
    assert "/hooks/darkroom" not in logs.text  # a receiver's path may hold its own token


# --- The settings page --------------------------------------------------------------------------


def test_the_secret_is_shown_once_and_stored_encrypted(studio, owner_client, receiver):
    secret = add_webhook(owner_client, studio.slug, receiver.url)
    webhook = Webhook.objects.get()
    assert secret not in webhook.secret_encrypted
    assert crypto.decrypt(webhook.secret_encrypted) == secret
    assert secret not in owner_client.get(page(studio.slug)).content.decode()
    audit = AuditEvent.objects.get(verb="webhook.set")
    assert audit.target == "127.0.0.1"


def test_rotating_makes_a_new_secret_that_signs_from_then_on(
    studio, owner_client, receiver, sent_tasks, django_capture_on_commit_callbacks
):
    old = add_webhook(owner_client, studio.slug, receiver.url)
    response = owner_client.post(reverse("gallery:webhook_rotate", args=[studio.slug]))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    (new,) = set(SECRET.findall(response.content.decode()))
    assert new != old
    assert AuditEvent.objects.filter(verb="webhook.secret_rotated").count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(reverse("gallery:webhook_test", args=[studio.slug]))
    run_deliveries(sent_tasks)
    (request,) = receiver.received
    verify(new, request.headers, request.body)
    with pytest.raises(AssertionError):
        verify(old, request.headers, request.body)


def test_removing_the_webhook_stops_even_a_waiting_retry_and_is_audited(
    studio, owner_client, receiver, sent_tasks, django_capture_on_commit_callbacks
):
    add_webhook(owner_client, studio.slug, receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(reverse("gallery:webhook_test", args=[studio.slug]))
    assert WebhookDelivery.objects.count() == 1  # its message is queued, not run yet

    response = owner_client.post(reverse("gallery:webhook_remove", args=[studio.slug]), follow=True)

    page_text = response.content.decode()
    assert "Webhook removed: nothing more is sent to 127.0.0.1." in page_text
    assert "Add webhook" in page_text
    assert not Webhook.objects.exists()
    assert not WebhookDelivery.objects.exists()
    assert run_deliveries(sent_tasks) == 1  # the queued message finds nothing to send
    assert receiver.received == []
    audit = AuditEvent.objects.get(verb="webhook.removed")
    assert audit.target == "127.0.0.1"
    # Added again, it is a new webhook with a new secret.
    assert add_webhook(owner_client, studio.slug, receiver.url)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://10.1.2.3/hook", "10.1.2.3 is a private address"),
        ("http://127.0.0.1:8000/hook", "127.0.0.1 is a loopback address"),
        ("http://169.254.169.254/latest", "a cloud metadata address"),
        ("http://93.184.216.34/hook", "Use an https:// address"),
        ("https://user:pw@93.184.216.34/hook", "must not contain a user name or password"),
        ("ftp://93.184.216.34/hook", "only http:// and https:// addresses are allowed"),
    ],
)
def test_an_address_the_worker_may_not_reach_is_refused_next_to_the_field(
    studio, owner_client, url, message
):
    response = owner_client.post(
        page(studio.slug), {"url": url, "events": ["job.succeeded"], "enabled": "on"}
    )
    assert response.status_code == 422
    html = response.content.decode()
    error = html[html.index('id="id_url_error"') :]
    assert message in error[: error.index("</div>")]
    assert f'value="{url}"' in html  # what was typed stays in the box
    assert not Webhook.objects.exists()


def test_an_empty_choice_of_events_is_refused(studio, owner_client, receiver):
    response = owner_client.post(page(studio.slug), {"url": receiver.url, "enabled": "on"})
    assert response.status_code == 422
    assert "Choose at least one event to send." in response.content.decode()
    assert not Webhook.objects.exists()


def test_changing_the_webhook_keeps_its_secret_and_is_audited(studio, owner_client, receiver):
    secret = add_webhook(owner_client, studio.slug, receiver.url)
    response = owner_client.post(
        page(studio.slug), {"url": receiver.url + "/v2", "events": ["job.failed"], "enabled": "on"}
    )
    assert response.status_code == 302
    webhook = Webhook.objects.get()
    assert (webhook.url, webhook.events) == (receiver.url + "/v2", ["job.failed"])
    assert crypto.decrypt(webhook.secret_encrypted) == secret
    audit = AuditEvent.objects.get(verb="webhook.changed")
    assert audit.detail == "address, events"


def test_the_deliveries_list_costs_the_same_queries_for_2_or_20(
    studio, owner, owner_client, receiver
):
    add_webhook(owner_client, studio.slug, receiver.url)
    webhook = Webhook.objects.get()

    def queries_with(n: int) -> int:
        WebhookDelivery.objects.all().delete()
        WebhookDelivery.objects.bulk_create(
            WebhookDelivery(
                webhook=webhook,
                event="webhook.test",
                payload={},
                state="failed",
                attempts=2,
                status_code=503,
                error="The receiver answered 503.",
                attempt_log=[
                    {"attempt": 1, "at": timezone.now().isoformat(), "status": 503, "error": "x"},
                    {"attempt": 2, "at": timezone.now().isoformat(), "status": 503, "error": "x"},
                ],
            )
            for _ in range(n)
        )
        with CaptureQueriesContext(connection) as queries:
            response = owner_client.get(page(studio.slug))
        assert response.content.decode().count("503 failed") == min(n, 20)
        return len(queries)

    queries_with(2)  # the first page of a workspace also remembers it (one write, once)
    assert queries_with(2) == queries_with(25)


def test_a_plain_member_cannot_see_or_change_the_webhook(studio, member_client, receiver):
    Webhook.objects.create(workspace=studio, url=receiver.url, secret_encrypted="x")
    for name in ("settings_webhooks", "webhook_rotate", "webhook_test", "webhook_remove"):
        url = reverse(f"gallery:{name}", args=[studio.slug])
        assert member_client.get(url).status_code in (403, 405)
        assert member_client.post(url, {"url": "https://evil.example"}).status_code == 403
    assert Webhook.objects.get().url == receiver.url
    assert not WebhookDelivery.objects.exists()
