from __future__ import annotations

from django.http import HttpRequest

from accounts.selectors import membership_list_for_user


def workspaces(request: HttpRequest) -> dict[str, object]:
    """The signed-in user's memberships, for the workspace switcher in the header."""
    if not request.user.is_authenticated:
        return {}
    # Lazy: evaluated only by templates that render the switcher.
    context: dict[str, object] = {"my_memberships": membership_list_for_user(user=request.user)}
    # A view's own context wins; this keeps the header right on pages that do not pass the
    # workspace, such as the 403 page shown when a role is too low.
    membership = getattr(request, "workspace_membership", None)
    if membership is not None:
        context |= {"workspace": membership.workspace, "membership": membership}
    return context
