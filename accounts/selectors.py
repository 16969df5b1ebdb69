from __future__ import annotations

from django.db.models import QuerySet

from accounts.models import (
    AuditEvent,
    ConnectionCheck,
    Membership,
    ProviderCredential,
    User,
    Workspace,
)


def membership_list_for_user(*, user: User) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(user=user).select_related("workspace").order_by("workspace__name")
    )


def membership_list_for_workspace(*, workspace: Workspace) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(workspace=workspace)
        .select_related("user")
        .order_by("user__first_name", "user__last_name", "user__email")
    )


def audit_event_list(*, workspace: Workspace, limit: int = 50) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(workspace=workspace).select_related("actor")[:limit])


def workspace_landing_for_user(*, user: User) -> Workspace | None:
    """The workspace "/" opens: the one last used, else the first by name."""
    memberships = membership_list_for_user(user=user)
    if user.last_workspace_id:
        remembered = memberships.filter(workspace_id=user.last_workspace_id).first()
        if remembered:
            return remembered.workspace
    first = memberships.first()
    return first.workspace if first else None


def credential_for_workspace(*, workspace: Workspace) -> ProviderCredential | None:
    return (
        ProviderCredential.objects.filter(workspace=workspace)
        .select_related("secret_set_by")
        .first()
    )


def connection_check_latest(*, credential: ProviderCredential) -> ConnectionCheck | None:
    return credential.checks.first()
