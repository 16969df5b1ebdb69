"""Delivering webhook events: one POST per attempt through the SSRF guard, signed; retried with
backoff; the resend tick for deliveries whose message or worker was lost. The life of a delivery
is drawn in `webhooks.py`."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import logging
import random
import time
from dataclasses import dataclass
from typing import Any

import requests
from django.utils import timezone
from django.utils.translation import gettext_noop
from django.views.decorators.debug import sensitive_variables
from kombu.exceptions import OperationalError

from accounts import crypto
from accounts.text import stored_message_id
from config.celery import send_task
from gallery.models import (
    DeliveryState,
    Webhook,
    WebhookDelivery,
    WebhookEvent,
)
from gallery.services.webhooks import url_host, webhook_network
from providers.netguard import UnsafeURL, blocked_reason, check_url, guarded_session

logger = logging.getLogger(__name__)

# Waits after the 1st, 2nd… failed attempt; after the last one the delivery fails.
RETRY_DELAYS = (10, 60, 300, 1800, 7200)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 10.0
# A delivery claimed longer ago than this lost its worker; one due longer ago lost its message.
STUCK_SECONDS = CONNECT_TIMEOUT + READ_TIMEOUT + 60
RESEND_GRACE_SECONDS = 120
RESEND_BATCH = 100
USER_AGENT = "Darkroom-Webhooks/1"


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
    host = url_host(delivery.webhook.url)
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
