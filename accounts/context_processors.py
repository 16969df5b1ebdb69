from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from accounts.models import Membership, User, Workspace
from accounts.selectors import membership_list_for_user_with_credentials


def workspaces(request: HttpRequest) -> dict[str, object]:
    """The one place templates get the workspace, the signed-in user's membership of it (and with
    it their role: `membership.can_write`, `membership.is_admin`) and the switcher's list.

    The workspace and membership are those `get_membership` let the request in with (see
    `accounts.access.WorkspaceRequest`); views do not pass them again. They are there on the 403
    page for a role that is too low, too.

    A page of no workspace (the staff pages, Operations, a new workspace, the password) keeps
    the header of the workspace last used (or the first, as "/" opens), so that its navigation
    is still there. Only the header reads it: nothing on such a page is decided by it.
    """
    if not request.user.is_authenticated:
        return {}
    membership = getattr(request, "membership", None)  # only on a WorkspaceRequest
    if membership is not None:
        # `get_membership` read them all (one query).
        return {
            "my_memberships": request.my_memberships,  # type: ignore[attr-defined]
            "workspace": membership.workspace,
            "membership": membership,
        }
    # Read when a template first asks (a partial that shows no header asks nothing): one query.
    return {
        "my_memberships": SimpleLazyObject(lambda: _header(request)[0]),
        "membership": SimpleLazyObject(lambda: _header(request)[1]),
        "workspace": SimpleLazyObject(lambda: header_workspace(request)),
    }


def header_workspace(request: HttpRequest) -> Workspace | None:
    """The workspace the header shows on a page of no workspace: the one last used, else the
    first by name (as "/" opens); None for someone of no workspace. Read once a request."""
    remembered = _header(request)[1]
    return remembered.workspace if remembered else None


def _header(request: HttpRequest) -> tuple[list[Membership], Membership | None]:
    found: tuple[list[Membership], Membership | None] | None = getattr(request, "_header", None)
    if found is None:
        user = request.user
        assert isinstance(user, User)
        # A 404 for someone else's workspace has read them already.
        memberships: list[Membership] | None = getattr(request, "my_memberships", None)
        if memberships is None:
            memberships = membership_list_for_user_with_credentials(user=user)
        last = [m for m in memberships if m.workspace_id == user.last_workspace_id]
        found = (memberships, next(iter(last or memberships), None))
        request._header = found  # type: ignore[attr-defined]
    return found
