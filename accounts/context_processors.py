from __future__ import annotations

from django.http import HttpRequest

from accounts.selectors import membership_list_for_user


def workspaces(request: HttpRequest) -> dict[str, object]:
    """The signed-in user's memberships, for the workspace switcher in the header."""
    if not request.user.is_authenticated:
        return {}
    # Lazy: evaluated only by templates that render the switcher.
    return {"my_memberships": membership_list_for_user(user=request.user)}
