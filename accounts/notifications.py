"""Notifications: the header's bell and the emails behind it, in the recipient's language."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError

from accounts.models import (
    Notification,
    User,
    Workspace,
)
from accounts.text import stored_message
from config.celery import send_task

logger = logging.getLogger(__name__)


def notification_send(
    *,
    recipient: User,
    workspace: Workspace,
    kind: str,
    message: str,
    params: dict[str, Any] | None = None,
    url: str = "",
    period: dt.date | None = None,
) -> Notification | None:
    """Tell `recipient` under the bell, and by email once the transaction commits (a worker
    sends it). With a `period`, once per kind and month: None when it was told already.
    `message` is an English msgid (marked with gettext_noop) with %(name)s placeholders for
    `params` (see accounts.text.stored_message): stored so, it is shown in the reader's
    language; `text` keeps the English."""
    params = params or {}
    with translation.override("en-gb"):
        text = stored_message(message, params)[:300]
    try:
        with transaction.atomic():
            notification = Notification.objects.create(
                recipient=recipient,
                workspace=workspace,
                kind=kind,
                text=text,
                message=message,
                params=params,
                url=url,
                period=period,
            )
    except IntegrityError:
        return None  # this month's threshold was told already
    transaction.on_commit(lambda: _email_later(notification.pk))
    return notification


def _email_later(notification_id: int) -> None:
    # After the commit of a submit: a broker that cannot be reached loses the email, never the
    # job (the notification is under the bell all the same).
    try:
        send_task("accounts.tasks.send_notification_email", notification_id)
    except (OperationalError, OSError):
        logger.warning("Notification %s: no worker reachable, no email sent", notification_id)


def notification_email(*, notification_id: int) -> None:
    """Email one notification to its recipient (the worker's half of `notification_send`)."""
    notification = (
        Notification.objects.select_related("recipient", "workspace")
        .filter(pk=notification_id)
        .first()
    )
    if notification is None or not notification.recipient.email:
        return
    recipient = notification.recipient
    # The recipient's language (their choice in the account menu), not the worker's.
    with translation.override(recipient.language or settings.LANGUAGE_CODE):
        body = notification.shown_text
        if notification.url.startswith("/"):  # the app's own pages only
            body += "\n\n" + _("Open it in Darkroom: %(url)s") % {
                "url": f"{settings.SITE_URL}{notification.url}"
            }
        workspace_name = notification.workspace.name
        send_mail(
            subject=f"[{workspace_name}] {notification.get_kind_display()}",
            message=f"{body}\n\n— "
            + _("Darkroom, workspace %(name)s") % {"name": workspace_name}
            + "\n",
            from_email=None,
            recipient_list=[recipient.email],
        )


def notification_mark_read(
    *, user: User, workspace: Workspace, notification_id: int | None = None
) -> Notification | None:
    """Mark one of the user's notifications in the workspace read (all of them without an id);
    the one marked, or None."""
    unread = Notification.objects.filter(recipient=user, workspace=workspace)
    if notification_id is None:
        unread.filter(read_at__isnull=True).update(read_at=timezone.now())
        return None
    notification = unread.filter(pk=notification_id).first()
    if notification is not None and notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification
