from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from gallery import selectors


def gallery(request: HttpRequest) -> dict[str, object]:
    """What any page of a workspace may show besides its own content: the catalog's model names
    (job cards, image facts) and the latest quota report (the header's meter asks it for its
    level), and the requests for more waiting for an admin (the settings tabs). Lazy: only a
    page that shows them runs the query."""
    workspace = getattr(request, "workspace", None)  # set by get_membership
    if workspace is None:
        return {}
    return {
        "model_names": SimpleLazyObject(lambda: selectors.catalog_names(workspace=workspace)),
        "quota": SimpleLazyObject(lambda: selectors.quota_latest(workspace=workspace)),
        # The settings tabs' badge on Budgets (admins' pages only read it).
        "budget_requests_pending": SimpleLazyObject(
            lambda: selectors.budget_request_count_pending(workspace=workspace)
        ),
    }
