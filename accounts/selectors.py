from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.db.models import Prefetch, QuerySet

from accounts.models import (
    ApiToken,
    AuditEvent,
    ConnectionCheck,
    Membership,
    Notification,
    ProviderCredential,
    User,
    Workspace,
)
from config.rows import model_columns, model_from_row


def membership_list_for_user(*, user: User) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(user=user).select_related("workspace").order_by("workspace__name")
    )


def membership_list_for_user_with_credentials(*, user: User) -> list[Membership]:
    """`membership_list_for_user(user=user).select_related("workspace__credential")`, in SQL:
    every page of a workspace reads it (`accounts.access.get_membership`), and the ORM took
    ≈0.27 ms of Python to compile it each time for a query the database answers in ≈0.05.

    Each membership also gets `unread_notifications` (the header's bell), a subselect in the
    same query rather than a query of its own on every page."""
    quote = connection.ops.quote_name
    columns = [
        *model_columns(Membership, "m"),
        *model_columns(Workspace, "w"),
        *model_columns(ProviderCredential, "c"),
    ]
    unread = (
        f"(SELECT COUNT(*) FROM {quote(Notification._meta.db_table)} n "  # noqa: S608
        "WHERE n.recipient_id = m.user_id AND n.workspace_id = m.workspace_id "
        "AND n.read_at IS NULL)"
    )
    # Quoted names from the models; the user is a parameter.
    sql = (
        f"SELECT {', '.join(columns)}, {unread} FROM {quote(Membership._meta.db_table)} m "  # noqa: S608
        f"INNER JOIN {quote(Workspace._meta.db_table)} w ON w.id = m.workspace_id "
        f"LEFT JOIN {quote(ProviderCredential._meta.db_table)} c ON c.workspace_id = w.id "
        "WHERE m.user_id = %s ORDER BY w.name ASC"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [user.pk])
        rows = cursor.fetchall()
    memberships = []
    workspace_field = Membership._meta.get_field("workspace")
    credential_field = ProviderCredential._meta.get_field("workspace")
    for row in rows:
        membership, rest = model_from_row(Membership, row)
        workspace, rest = model_from_row(Workspace, rest)
        credential, rest = model_from_row(ProviderCredential, rest)
        assert membership is not None  # an inner join: both there
        assert workspace is not None
        # As select_related does: none left for `workspace.credential` to ask for (without a
        # credential it raises RelatedObjectDoesNotExist, as after select_related).
        workspace_field.set_cached_value(membership, workspace)
        membership.unread_notifications = int(rest[-1])
        credential_field.remote_field.set_cached_value(workspace, credential)
        if credential is not None:
            credential_field.set_cached_value(credential, workspace)
        memberships.append(membership)
    return memberships


def membership_list_for_workspace(*, workspace: Workspace) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(workspace=workspace)
        .select_related("user")
        .order_by("user__first_name", "user__last_name", "user__email")
    )


def audit_event_list(*, workspace: Workspace | None, limit: int = 50) -> list[AuditEvent]:
    """The workspace's audit log; with None, the installation's own (workspaces deleted,
    accounts deactivated), which outlives any workspace."""
    events = (
        AuditEvent.objects.filter(workspace=workspace)
        if workspace
        else (AuditEvent.objects.filter(workspace__isnull=True))
    )
    return list(events.select_related("actor")[:limit])


@dataclass(frozen=True)
class UserPage:
    users: list[User]
    # The email to continue after (keyset: no COUNT, and as quick on the last page as the first).
    next_after: str | None


def user_page_for_staff(*, after: str = "", search: str = "", size: int = 50) -> UserPage:
    """One page of every account, by email, each with its memberships (and their workspaces)
    in one more query."""
    users = User.objects.order_by("email").prefetch_related(
        Prefetch(
            "memberships",
            queryset=Membership.objects.select_related("workspace").order_by("workspace__name"),
        )
    )
    if search:
        users = users.filter(email__icontains=search.strip())
    if after:
        users = users.filter(email__gt=after)
    found = list(users[: size + 1])
    more = len(found) > size
    return UserPage(found[:size], found[size - 1].email if more else None)


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


def api_token_list_of_others(*, membership: Membership) -> QuerySet[ApiToken]:
    """The live tokens of the other members of the workspace (an admin may revoke them)."""
    return (
        ApiToken.objects.live()
        .filter(workspace=membership.workspace)
        .exclude(owner=membership.user)
        .select_related("owner")
    )
