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
    # `get_membership` already read them (one query for both); elsewhere a lazy queryset,
    # evaluated only by templates that render the switcher.
    my_memberships = getattr(request, "my_memberships", None)
    if my_memberships is None:
        my_memberships = membership_list_for_user(user=request.user)
    context: dict[str, object] = {"my_memberships": my_memberships}
    membership = getattr(request, "membership", None)  # only on a WorkspaceRequest
    if membership is not None:
        context |= {"workspace": membership.workspace, "membership": membership}
    return context
