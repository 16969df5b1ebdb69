"""The audit log: who changed what in a workspace, and the installation's own record."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy

from accounts.models.users import Workspace


class AuditVerb(models.TextChoices):
    BUDGET_ADJUSTED = "budget.adjusted", gettext_lazy("adjusted this month's budget of")
    BUDGET_CHANGED = "budget.changed", gettext_lazy("changed the monthly budget of")
    BUDGET_REQUEST_APPROVED = (
        "budget.request_approved",
        gettext_lazy("approved a request for more from"),
    )
    BUDGET_REQUEST_DECLINED = (
        "budget.request_declined",
        gettext_lazy("declined a request for more from"),
    )
    BUDGET_WORKSPACE_CHANGED = (
        "budget.workspace_changed",
        gettext_lazy("changed the workspace budget"),
    )
    CREDENTIAL_SET = "credential.set", gettext_lazy("set the provider credential")
    CREDENTIAL_CHANGED = "credential.changed", gettext_lazy("changed the provider credential")
    MEMBER_ADDED = "member.added", gettext_lazy("added a member")
    MEMBER_CREATED = "member.created", gettext_lazy("created an account for")
    MEMBER_LINK_ISSUED = "member.link_issued", gettext_lazy("issued a new set-password link for")
    MEMBER_REMOVED = "member.removed", gettext_lazy("removed a member")
    MEMBER_ROLE_CHANGED = "member.role_changed", gettext_lazy("changed the role of")
    TOKEN_CREATED = "token.created", gettext_lazy("created an API token")
    TOKEN_REVOKED = "token.revoked", gettext_lazy("revoked an API token")
    MEMBER_LEFT = "member.left", gettext_lazy("left the workspace")
    USER_DEACTIVATED = "user.deactivated", gettext_lazy("deactivated the account of")
    USER_REACTIVATED = "user.reactivated", gettext_lazy("reactivated the account of")
    WEBHOOK_CHANGED = "webhook.changed", gettext_lazy("changed the webhook")
    WEBHOOK_SECRET_ROTATED = (
        "webhook.secret_rotated",
        gettext_lazy("rotated the webhook's signing secret"),
    )
    WEBHOOK_REMOVED = "webhook.removed", gettext_lazy("removed the webhook to")
    WEBHOOK_SET = "webhook.set", gettext_lazy("set up a webhook to")
    WEBHOOK_TESTED = "webhook.tested", gettext_lazy("sent a test event to the webhook")
    WORKSPACE_CREATED = "workspace.created", gettext_lazy("created the workspace")
    WORKSPACE_DELETED = "workspace.deleted", gettext_lazy("deleted the workspace")
    WORKSPACE_EXPORTED = "workspace.exported", gettext_lazy("exported the workspace")
    WORKSPACE_MOVED = "workspace.moved", gettext_lazy("changed the address of the workspace")
    WORKSPACE_RENAMED = "workspace.renamed", gettext_lazy("renamed the workspace")


class AuditEvent(models.Model):
    # None for what happens to the installation rather than in one workspace (a workspace
    # deleted, an account deactivated): those records outlive any workspace.
    workspace = models.ForeignKey(
        Workspace, null=True, blank=True, on_delete=models.CASCADE, related_name="audit_events"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    verb = models.CharField(max_length=40, choices=AuditVerb.choices)
    # Holds an email address at most (254, as User.email), else a workspace or provider name.
    target = models.CharField(max_length=254, blank=True)
    detail = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return f"{self.actor} {self.get_verb_display()} {self.target}".strip()
