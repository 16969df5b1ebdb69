from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from accounts.context_processors import header_workspace
from gallery import selectors
from gallery.models import QuotaSnapshot


def gallery(request: HttpRequest) -> dict[str, object]:
    """What any page of a workspace may show besides its own content: the catalog's model names
    (job cards, image facts) and the latest quota report (the header's meter asks it for its
    level), and the requests for more waiting for an admin (the settings tabs). Lazy: only a
    page that shows them runs the query."""
    workspace = getattr(request, "workspace", None)  # set by get_membership
    if workspace is None:
        if not request.user.is_authenticated:
            return {}
        # A page of no workspace shows the header of the one last used, its meter included.
        return {"quota": SimpleLazyObject(lambda: _header_quota(request))}
    return {
        "model_names": SimpleLazyObject(lambda: selectors.catalog_names(workspace=workspace)),
        "quota": SimpleLazyObject(lambda: selectors.quota_latest(workspace=workspace)),
        # The settings tabs' badge on Budgets (admins' pages only read it).
        "budget_requests_pending": SimpleLazyObject(
            lambda: selectors.budget_request_count_pending(workspace=workspace)
        ),
    }


def _header_quota(request: HttpRequest) -> QuotaSnapshot | None:
    workspace = header_workspace(request)
    return selectors.quota_latest(workspace=workspace) if workspace else None
