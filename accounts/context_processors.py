from __future__ import annotations

from django.http import HttpRequest

from accounts.selectors import membership_list_for_user


def workspaces(request: HttpRequest) -> dict[str, object]:
    """The one place templates get the workspace, the signed-in user's membership of it (and with
    it their role: `membership.can_write`, `membership.is_admin`) and the switcher's list.

    The workspace and membership are those `get_membership` let the request in with (see
    `accounts.access.WorkspaceRequest`); views do not pass them again. They are there on the 403
    page for a role that is too low, too.
    """
    if not request.user.is_authenticated:
        return {}
    # On a workspace's page `get_membership` has read them already; elsewhere a lazy queryset,
    # evaluated only by templates that render the switcher.
    memberships = getattr(request, "my_memberships", None)
    if memberships is None:
        memberships = membership_list_for_user(user=request.user)
    context: dict[str, object] = {"my_memberships": memberships}
    membership = getattr(request, "membership", None)  # only on a WorkspaceRequest
    if membership is not None:
        context |= {"workspace": membership.workspace, "membership": membership}
    return context
