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

Here: the receiver's address, the settings (save, rotate, remove, test) and recording a job's
ending; `webhook_delivery.py` makes the attempts, retries and the resend tick.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from accounts import crypto
from accounts.connection import address_problem
from accounts.models import AuditVerb, User, Workspace
from accounts.services import audit_record
from config.celery import send_task_on_commit
from gallery.models import (
    Image,
    Job,
    Webhook,
    WebhookDelivery,
    WebhookEvent,
)
from gallery.models.webhooks import JOB_EVENT_STATES
from providers.netguard import NetworkPolicy

SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, like Stripe's, not a secret)


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
                workspace=workspace, actor=actor, verb=AuditVerb.WEBHOOK_SET, target=url_host(url)
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
                target=url_host(url),
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
        target=url_host(webhook.url),
    )
    return secret


def webhook_remove(*, webhook: Webhook, actor: User) -> str:
    """Remove the webhook, its secret and its deliveries: nothing more is sent, not even a retry
    already queued (its message finds no delivery to claim). Returns the receiver's host."""
    host = url_host(webhook.url)
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
        target=url_host(webhook.url),
    )
    send_task_on_commit("gallery.tasks.deliver_webhook", delivery.pk)
    return delivery


def url_host(url: str) -> str:
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
