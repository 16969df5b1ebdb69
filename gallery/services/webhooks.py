"""Webhooks: a workspace admin names a URL; job endings are POSTed there, signed, and retried.

    job ends (runner, one transaction) ──▶ WebhookDelivery PENDING (one per job ending)
                                             │ on commit: gallery.tasks.deliver_webhook
                                             ▼
    claim  PENDING -> SENDING (conditional UPDATE; a duplicate message finds nothing)
    POST through the SSRF guard ──2xx──▶ DELIVERED
                ──timeout, connection error, 429, 5xx──▶ PENDING, due after RETRY_DELAYS[attempt]
                                                         (Retry-After honoured); the last: FAILED
                ──any other answer (4xx, a redirect), a refused address──▶ FAILED
    resend tick (beat): a PENDING delivery whose message never came, or a SENDING one whose
    worker stopped, is sent again (the receiver dedupes by X-Darkroom-Delivery).

The signature is Stripe's scheme: ``X-Darkroom-Signature: t=<unix>,v1=<hex>``, the HMAC-SHA256
of ``"<t>.<raw body>"`` under the workspace's secret, so a receiver can refuse old replays.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import random
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from django.views.decorators.debug import sensitive_variables
from kombu.exceptions import OperationalError

from accounts import crypto
from accounts.connection import address_problem
from accounts.models import AuditVerb, User, Workspace
from accounts.services import audit_record
from accounts.text import stored_message_id
from config.celery import send_task, send_task_on_commit
from gallery.models import (
    DeliveryState,
    Image,
    Job,
    Webhook,
    WebhookDelivery,
    WebhookEvent,
)
from gallery.models.webhooks import JOB_EVENT_STATES
from providers.netguard import NetworkPolicy, UnsafeURL, blocked_reason, check_url, guarded_session

logger = logging.getLogger(__name__)

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, like Stripe's, not a secret)
# Waits after the 1st, 2nd… failed attempt; after the last one the delivery fails.
RETRY_DELAYS = (10, 60, 300, 1800, 7200)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 10.0
# A delivery claimed longer ago than this lost its worker; one due longer ago lost its message.
STUCK_SECONDS = CONNECT_TIMEOUT + READ_TIMEOUT + 60
RESEND_GRACE_SECONDS = 120
RESEND_BATCH = 100
RECENT_DELIVERIES = 20
USER_AGENT = "Darkroom-Webhooks/1"


# --- The receiver's address -------------------------------------------------------------------


def webhook_network() -> NetworkPolicy:
    """The non-public hosts the operator lets webhooks reach (WEBHOOK_PRIVATE_HOSTS)."""
    return NetworkPolicy.allowing(settings.WEBHOOK_PRIVATE_HOSTS)


def webhook_url_problem(url: str) -> str | None:
    """Why ``url`` cannot receive webhooks, or None. The worker's SSRF guard refuses the same
    addresses again on every connection (``providers.netguard``), whatever a name resolves to
    by then."""
    try:
        problem, scheme = address_problem(
            url,
            webhook_network(),
            not_public=_(
                "This address is not on the public internet: %(reason)s. Whoever runs Darkroom "
                "can allow it with WEBHOOK_PRIVATE_HOSTS."
            ),
        )
    except OSError:
        host = urlsplit(url).hostname
        return _("The host name %(host)s does not resolve. Check it for typos.") % {"host": host}
    if problem or not scheme:
        return problem
    if scheme != "https":
        return _("Use an https:// address: the events travel over the public internet.")
    return None


# --- Settings: save, rotate, test ---------------------------------------------------------------


def _new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Saved:
    webhook: Webhook
    # Only when it was just made: shown once, never again.
    new_secret: str | None


@sensitive_variables("secret")
def webhook_save(
    *, workspace: Workspace, actor: User, url: str, enabled: bool, events: list[str]
) -> Saved:
    """Create the workspace's webhook (with a new secret) or change it."""
    with transaction.atomic():
        webhook = Webhook.objects.select_for_update().filter(workspace=workspace).first()
        if webhook is None:
            secret = _new_secret()
            webhook = Webhook.objects.create(
                workspace=workspace,
                url=url,
                enabled=enabled,
                events=events,
                secret_encrypted=crypto.encrypt(secret),
            )
            audit_record(
                workspace=workspace, actor=actor, verb=AuditVerb.WEBHOOK_SET, target=_host(url)
            )
            return Saved(webhook, secret)
        changed = [
            label
            for label, before, after in (
                ("address", webhook.url, url),
                ("on/off", webhook.enabled, enabled),
                ("events", sorted(webhook.events), sorted(events)),
            )
            if before != after
        ]
        if changed:
            webhook.url, webhook.enabled, webhook.events = url, enabled, events
            webhook.save(update_fields=["url", "enabled", "events", "updated_at"])
            audit_record(
                workspace=workspace,
                actor=actor,
                verb=AuditVerb.WEBHOOK_CHANGED,
                target=_host(url),
                detail=", ".join(changed),
            )
        return Saved(webhook, None)


@sensitive_variables("secret")
def webhook_rotate_secret(*, webhook: Webhook, actor: User) -> str:
    """A new signing secret; the old one stops working at once."""
    secret = _new_secret()
    webhook.secret_encrypted = crypto.encrypt(secret)
    webhook.secret_set_at = timezone.now()
    webhook.save(update_fields=["secret_encrypted", "secret_set_at", "updated_at"])
    audit_record(
        workspace=webhook.workspace,
        actor=actor,
        verb=AuditVerb.WEBHOOK_SECRET_ROTATED,
        target=_host(webhook.url),
    )
    return secret


def webhook_remove(*, webhook: Webhook, actor: User) -> str:
    """Remove the webhook, its secret and its deliveries: nothing more is sent, not even a retry
    already queued (its message finds no delivery to claim). Returns the receiver's host."""
    host = _host(webhook.url)
    with transaction.atomic():
        audit_record(
            workspace=webhook.workspace, actor=actor, verb=AuditVerb.WEBHOOK_REMOVED, target=host
        )
        webhook.delete()
    return host


def webhook_test(*, webhook: Webhook, actor: User) -> WebhookDelivery:
    """Queue a ``webhook.test`` event (sent even while the webhook is turned off)."""
    now = timezone.now()
    delivery_id = uuid.uuid4()
    payload = {
        "id": str(delivery_id),
        "event": WebhookEvent.TEST.value,
        "created_at": now.isoformat(),
        "workspace": {"slug": webhook.workspace.slug},
    }
    delivery = WebhookDelivery.objects.create(
        webhook=webhook,
        uuid=delivery_id,
        event=WebhookEvent.TEST,
        payload=payload,
        next_attempt_at=now,
    )
    audit_record(
        workspace=webhook.workspace,
        actor=actor,
        verb=AuditVerb.WEBHOOK_TESTED,
        target=_host(webhook.url),
    )
    send_task_on_commit("gallery.tasks.deliver_webhook", delivery.pk)
    return delivery


def _host(url: str) -> str:
    """What the audit log and the worker's log name: the host, never a path that may hold a
    token (many receivers put their own secret in the URL)."""
    return urlsplit(url).hostname or ""


# --- A job ended --------------------------------------------------------------------------------


def webhook_job_ended(*, job: Job, event: str, finished_at: dt.datetime, error: str = "") -> None:
    """Record the event for the workspace's webhook, if it wants it. Call inside the transaction
    that ends the job: the delivery exists exactly when the ending does."""
    webhook = Webhook.objects.filter(workspace_id=job.workspace_id).first()
    if webhook is None or not webhook.wants(event):
        return
    delivery_id = uuid.uuid4()
    images = list(
        Image.objects.filter(job=job, deleted_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    slug = Workspace.objects.values_list("slug", flat=True).get(pk=job.workspace_id)
    payload = {
        "id": str(delivery_id),
        "event": event,
        "created_at": timezone.now().isoformat(),
        "workspace": {"slug": slug},
        "job": {
            "id": job.pk,
            "kind": job.kind,
            "model": job.model_id,
            "state": JOB_EVENT_STATES[event],
            "error": error if event == WebhookEvent.JOB_FAILED else None,
            "created_at": _iso(job.created_at),
            "started_at": _iso(job.started_at),
            "finished_at": _iso(finished_at),
            "images": [_image_entry(slug, image_id) for image_id in images],
        },
    }
    delivery, created = WebhookDelivery.objects.get_or_create(
        job=job,
        event=event,
        job_ended_at=finished_at,
        defaults={
            "webhook": webhook,
            "uuid": delivery_id,
            "payload": payload,
            "next_attempt_at": finished_at,
        },
    )
    if created:
        send_task_on_commit("gallery.tasks.deliver_webhook", delivery.pk)


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _image_entry(slug: str, image_id: int) -> dict[str, object]:
    site = settings.SITE_URL
    return {
        "id": image_id,
        "page_url": site + reverse("gallery:image_detail", args=[slug, image_id]),
        "file_url": site + reverse("gallery:image_file", args=[slug, image_id]),
    }


# --- Delivering ---------------------------------------------------------------------------------


def webhook_signature(secret: str, timestamp: int, body: bytes) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


@dataclass(frozen=True)
class Outcome:
    status: int | None
    error: str
    transient: bool
    retry_after: float | None = None

    @property
    def delivered(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def webhook_deliver(*, delivery_id: int) -> None:
    """One attempt at a delivery: claim it, POST it, record what happened."""
    now = timezone.now()
    if not WebhookDelivery.objects.claim(delivery_id, now=now):
        return  # delivered, failed, not due yet, or another worker has it
    delivery = WebhookDelivery.objects.select_related("webhook__workspace").get(pk=delivery_id)
    webhook = delivery.webhook
    if delivery.event != WebhookEvent.TEST and not webhook.enabled:
        outcome = Outcome(
            None, gettext_noop("Not sent: the webhook was turned off."), transient=False
        )
    else:
        outcome = _post(delivery, webhook)
    _record(delivery, outcome, at=now)


@sensitive_variables("secret")
def _post(delivery: WebhookDelivery, webhook: Webhook) -> Outcome:
    try:
        check_url(webhook.url)
        secret = crypto.decrypt(webhook.secret_encrypted)
    except UnsafeURL as exc:
        return Outcome(None, UNUSABLE_ADDRESS % {"reason": exc}, transient=False)
    except crypto.SecretUnreadable:
        return Outcome(
            None,
            gettext_noop(
                "The signing secret cannot be decrypted with this server's CREDENTIAL_KEYS: "
                "rotate it."
            ),
            transient=False,
        )
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Darkroom-Event": delivery.event,
        "X-Darkroom-Delivery": str(delivery.uuid),
        "X-Darkroom-Signature": webhook_signature(secret, int(time.time()), body),
    }
    with guarded_session(webhook_network(), pool_maxsize=1, trust_env=False) as session:
        try:
            response = session.post(
                webhook.url,
                data=body,
                headers=headers,
                timeout=(CONNECT_TIMEOUT, READ_TIMEOUT),
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            return _connection_failure(exc)
        response.close()
    return _judge(response)


# A delivery's error is stored in English and shown in the reader's language (stored_text).
UNUSABLE_ADDRESS = stored_message_id(gettext_noop("This address cannot be used: %(reason)s."))
REFUSED_BY_GUARD = stored_message_id(gettext_noop("Refused by the network guard: %(reason)s."))
NO_ANSWER = stored_message_id(gettext_noop("No answer within %(seconds)s s."))
REQUEST_FAILED = stored_message_id(gettext_noop("The request failed (%(error)s)."))
RECEIVER_ANSWERED = stored_message_id(gettext_noop("The receiver answered %(status)s."))
RECEIVER_REFUSED = stored_message_id(
    gettext_noop("The receiver refused it with %(status)s; not retried.")
)


def _connection_failure(exc: requests.RequestException) -> Outcome:
    blocked = blocked_reason(exc)
    if blocked is not None:
        return Outcome(None, REFUSED_BY_GUARD % {"reason": blocked}, transient=False)
    if isinstance(exc, requests.Timeout):
        return Outcome(None, NO_ANSWER % {"seconds": f"{READ_TIMEOUT:g}"}, transient=True)
    if isinstance(exc, requests.ConnectionError):
        return Outcome(None, gettext_noop("Could not connect to the receiver."), transient=True)
    return Outcome(None, REQUEST_FAILED % {"error": type(exc).__name__}, transient=False)


def _judge(response: requests.Response) -> Outcome:
    status = response.status_code
    if 200 <= status < 300:
        return Outcome(status, "", transient=False)
    if 300 <= status < 400:
        return Outcome(
            status,
            gettext_noop(
                "The receiver answered with a redirect; webhooks do not follow redirects, so "
                "enter the address it redirects to."
            ),
            transient=False,
        )
    if status == 429 or status >= 500:
        return Outcome(
            status,
            RECEIVER_ANSWERED % {"status": status},
            transient=True,
            retry_after=_retry_after(response.headers.get("Retry-After")),
        )
    return Outcome(status, RECEIVER_REFUSED % {"status": status}, transient=False)


def _retry_after(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None  # an HTTP date: the schedule's own wait will do


def retry_delay(attempt: int, retry_after: float | None) -> float:
    """The wait after failed attempt ``attempt`` (1-based): the schedule, ±10 % so a burst of
    deliveries to one receiver spreads out, never sooner than its Retry-After (at most 2 h)."""
    base = RETRY_DELAYS[attempt - 1]
    delay = base * random.uniform(0.9, 1.1)
    if retry_after is not None:
        delay = max(delay, min(retry_after, RETRY_DELAYS[-1]))
    return delay


def _record(delivery: WebhookDelivery, outcome: Outcome, *, at: dt.datetime) -> None:
    attempt = delivery.attempts
    log = [
        *delivery.attempt_log,
        {
            "attempt": attempt,
            "at": at.isoformat(),
            "status": outcome.status,
            "error": outcome.error,
        },
    ]
    changes: dict[str, Any] = {
        "attempt_log": log,
        "status_code": outcome.status,
        "error": outcome.error[:300],
        "last_attempt_at": at,
        "claimed_at": None,
    }
    delay: float | None = None
    if outcome.delivered:
        changes |= {"state": DeliveryState.DELIVERED, "delivered_at": timezone.now()}
    elif outcome.transient and attempt < MAX_ATTEMPTS:
        delay = retry_delay(attempt, outcome.retry_after)
        changes |= {
            "state": DeliveryState.PENDING,
            "next_attempt_at": timezone.now() + dt.timedelta(seconds=delay),
        }
    else:
        changes["state"] = DeliveryState.FAILED
    held = WebhookDelivery.objects.filter(pk=delivery.pk, state=DeliveryState.SENDING)
    if not held.update(**changes):
        return  # the resend tick took it back meanwhile; its attempt is the one that counts
    host = _host(delivery.webhook.url)
    if outcome.delivered:
        logger.info("Webhook delivery %s to %s: %s", delivery.pk, host, outcome.status)
    else:
        logger.warning(
            "Webhook delivery %s to %s, attempt %d: %s%s",
            delivery.pk,
            host,
            attempt,
            outcome.error,
            f" Trying again in {delay:.0f} s." if delay is not None else "",
        )
    if delay is not None:
        _send(delivery.pk, countdown=delay)


def _send(delivery_id: int, *, countdown: float | None = None) -> bool:
    try:
        send_task("gallery.tasks.deliver_webhook", delivery_id, countdown=countdown)
    except (OperationalError, OSError) as exc:
        # The row says it is due: the resend tick sends it once the broker is back.
        logger.warning("Webhook delivery %s: the broker is unreachable (%s)", delivery_id, exc)
        return False
    return True


def webhook_deliveries_resend(*, now: dt.datetime | None = None) -> int:
    """The resend tick: send again what lost its message or its worker. Returns how many."""
    now = now or timezone.now()
    lost = WebhookDelivery.objects.due_again(
        now=now - dt.timedelta(seconds=RESEND_GRACE_SECONDS),
        sending_before=now - dt.timedelta(seconds=STUCK_SECONDS),
    ).order_by("pk")
    sent = 0
    for delivery in lost.only("pk", "state", "next_attempt_at", "claimed_at")[:RESEND_BATCH]:
        # Conditional on what was read: two ticks at once send it once.
        same = WebhookDelivery.objects.filter(
            pk=delivery.pk,
            state=delivery.state,
            next_attempt_at=delivery.next_attempt_at,
            claimed_at=delivery.claimed_at,
        )
        if not same.update(state=DeliveryState.PENDING, next_attempt_at=now, claimed_at=None):
            continue
        if not _send(delivery.pk):
            break
        sent += 1
    return sent
