"""Notifications: the header's bell and the emails behind it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy

from accounts.models.users import Workspace
from accounts.text import stored_message, stored_text


class NotificationKind(models.TextChoices):
    BUDGET_80 = "budget_80", gettext_lazy("80 % of your budget")
    BUDGET_100 = "budget_100", gettext_lazy("All of your budget")
    CAP_80 = "cap_80", gettext_lazy("80 % of the workspace cap")
    CAP_100 = "cap_100", gettext_lazy("All of the workspace cap")
    REQUEST_NEW = "request_new", gettext_lazy("A request for more")
    REQUEST_APPROVED = "request_approved", gettext_lazy("Request approved")
    REQUEST_DECLINED = "request_declined", gettext_lazy("Request declined")


class Notification(models.Model):
    """Something a person should know, shown under the bell (and sent by email). The unread
    count is read with the page's membership query (`membership_list_for_user_with_credentials`),
    so the bell costs no query of its own."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications"
    )
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=20, choices=NotificationKind.choices)
    text = models.CharField(max_length=300)  # in English, as the JSON API shows it
    # The same text as its English msgid and parameters (accounts.text.stored_message), so the
    # bell and the email speak the reader's language; blank for older rows (then `text`).
    message = models.CharField(max_length=300, blank=True)
    params = models.JSONField(default=dict, blank=True)
    url = models.CharField(max_length=300, blank=True)
    # The month a threshold notification is about (its first day); None for the others. A
    # threshold is told once a month: the database refuses a second one for the same month.
    period = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at", "-id")
        constraints = [
            models.UniqueConstraint(
                fields=("recipient", "workspace", "kind", "period"),
                condition=models.Q(period__isnull=False),
                name="one_threshold_notification_a_month",
            )
        ]
        indexes = [
            models.Index(fields=("recipient", "workspace", "read_at"), name="notification_unread"),
        ]

    def __str__(self) -> str:
        return self.text

    @property
    def shown_text(self) -> str:
        """The text in the active language."""
        if self.message:
            return stored_message(self.message, self.params)
        return stored_text(self.text)
